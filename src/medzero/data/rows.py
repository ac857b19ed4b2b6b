"""The flat row layout of prepared datasets (``datasets`` / JSONL / Arrow friendly).

A training or evaluation row carries the question in canonical form plus the prompt:

=============  ==============================================================
``id``         question id (unique within ``source``)
``source``     benchmark / file family
``question``   stem
``options``    option texts in letter order (list of str; letters are A, B, ...)
``answer``     gold letter
``answer_text`` gold option text (for the optional partial-credit reward)
``prompt``     chat messages (list of ``{"role", "content"}``) from :mod:`medzero.data.prompts`
``meta``       JSON string of :attr:`MCQ.meta` (Arrow cannot hold free-form dicts)
``images``     image paths (only in mixes that hold image questions; text rows of such a
               mix get ``[]``); absolute in memory, relative to the folder in prepared files
=============  ==============================================================

TRL passes every column except ``prompt`` to reward functions as keyword arguments, so rewards
receive ``answer=[...]`` and ``options=[...]`` per completion.
"""

from __future__ import annotations

import json
from typing import Any

from medzero.data.prompts import PromptConfig, build_messages
from medzero.data.schema import LETTERS, MCQ

ROW_COLUMNS = ("id", "source", "question", "options", "answer", "answer_text", "prompt", "meta")


def options_dict(value: Any) -> dict[str, str]:
    """Accept the ``options`` of a row in any of its shapes and return ``letter -> text``.

    * a dict ``{"A": "x", ...}`` is returned as is (in letter order);
    * a list of texts ``["x", "y"]`` gets letters A, B, ...;
    * a JSON string of either shape is decoded first.
    """
    if isinstance(value, str):
        value = json.loads(value)
    if isinstance(value, dict):
        return {k: value[k] for k in sorted(value) if value[k] is not None}
    return {LETTERS[i]: str(t) for i, t in enumerate(value)}


def mcq_to_row(mcq: MCQ, prompt_cfg: PromptConfig | None = None) -> dict[str, Any]:
    """One flat row for ``mcq`` with its chat prompt."""
    return {
        "id": mcq.id,
        "source": mcq.source,
        "question": mcq.question,
        "options": list(mcq.options.values()),
        "answer": mcq.answer,
        "answer_text": mcq.answer_text,
        "prompt": build_messages(mcq, prompt_cfg),
        "meta": json.dumps(mcq.meta, ensure_ascii=False, sort_keys=True),
        **({"images": list(mcq.images)} if mcq.images else {}),
    }


def row_to_mcq(row: dict[str, Any]) -> MCQ:
    """Inverse of :func:`mcq_to_row` (the prompt is dropped; it is rebuilt from the question)."""
    meta = row.get("meta") or {}
    if isinstance(meta, str):
        meta = json.loads(meta) if meta else {}
    return MCQ(
        id=str(row["id"]),
        source=str(row["source"]),
        question=row["question"],
        options=options_dict(row["options"]),
        answer=row["answer"],
        meta=meta,
        images=list(row.get("images") or []),
    ).validate()

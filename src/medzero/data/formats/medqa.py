"""MedQA-USMLE in jind11's JSONL form (train/dev/test, 4 or 5 options) and the shared converter
for records shaped ``question, options{letter: text}, answer (text), answer_idx (letter)``, which
HuatuoGPT-o1's ``eval_data.json`` also uses."""

from __future__ import annotations

from typing import Any

from medzero.data.formats.base import (
    Format,
    RecordContext,
    as_record,
    get_field,
    get_letter,
    get_text,
    infer_split,
    letter_dict,
)
from medzero.data.schema import MCQ


def convert_answer_idx(
    rec: dict[str, Any], ctx: RecordContext, *, id: str, source: str, meta: dict[str, Any]
) -> MCQ:
    """``question``, ``options`` dict and ``answer_idx``; ``answer`` (text), when present, must be
    the text of that option."""
    question = get_text(rec, "question", ctx)
    options = letter_dict(get_field(rec, "options", ctx, dict), "options", ctx)
    letter = get_letter(rec, "answer_idx", ctx)
    if letter not in options:
        raise ctx.error("answer_idx", f"{letter!r} is not among the options {list(options)}")
    text = rec.get("answer")
    if text is not None and str(text).strip() != options[letter].strip():
        raise ctx.error("answer", f"answer text {text!r} differs from option {letter} {options[letter]!r}")
    return MCQ(id=id, source=source, question=question, options=options, answer=letter, meta=meta)


def _convert_medqa(raw: Any, ctx: RecordContext) -> MCQ:
    rec = as_record(raw, ctx)
    split = infer_split(ctx.path, ctx.options)
    meta: dict[str, Any] = {}
    if split:
        meta["split"] = split
    if rec.get("meta_info") is not None:
        meta["step"] = rec["meta_info"]
    mcq_id = f"medqa-{split}-{ctx.index}" if split else f"medqa-{ctx.index}"
    return convert_answer_idx(rec, ctx, id=mcq_id, source="medqa", meta=meta)


MEDQA = Format(
    name="medqa",
    help="MedQA-USMLE jind11 JSONL (question, options A-E, answer, answer_idx, meta_info); id medqa-<split>-<n>",
    convert=_convert_medqa,
    options={"split": "Split name for ids and meta (default: from the file name, e.g. 'test')."},
)

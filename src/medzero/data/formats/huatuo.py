"""HuatuoGPT-o1's combined ``eval_data.json``: one JSON object ``{benchmark key: [records]}``
whose records are ``question, options{letter: text}, answer (text), answer_idx``.

Records get id ``f"{source}-{index}"`` and meta ``{"eval_key": key, "index": i}``; the ``keys``
option selects benchmarks by key or by source name (``keys=["medqa", "GPQA_Medical_test"]``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from medzero.data.formats.base import Format, RawItem, RecordContext, as_record
from medzero.data.formats.medqa import convert_answer_idx
from medzero.data.schema import MCQ
from medzero.errors import ConfigError, DataError
from medzero.jsonl import read_json

KEY_SOURCES = {
    "MedMCQA_validation": "medmcqa",
    "MedQA_USLME_test": "medqa",
    "PubMedQA_test": "pubmedqa",
    "MMLU-Pro_Medical_test": "mmlu_pro",
    "GPQA_Medical_test": "gpqa",
}


def key_source(key: str) -> str:
    """Source name for an eval_data key (unknown keys: lower-case, non-alphanumerics -> ``_``)."""
    return KEY_SOURCES.get(key) or re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")


def looks_like_eval_data(data: Any) -> bool:
    """A JSON object whose values are lists of ``question/options/answer_idx`` records."""
    if not isinstance(data, dict) or not data:
        return False
    if any(k in KEY_SOURCES for k in data):
        return True
    for value in data.values():
        if not isinstance(value, list) or not value or not isinstance(value[0], dict):
            return False
        if not {"question", "options", "answer_idx"} <= set(value[0]):
            return False
    return True


def _read(path: Path, options: Mapping[str, Any]) -> Iterator[RawItem]:
    data = read_json(path)
    if not isinstance(data, dict):
        raise DataError(path, None, None, "expected a JSON object {benchmark key: [records]}")
    keys = list(data)
    wanted = options.get("keys")
    if wanted:
        wanted = [wanted] if isinstance(wanted, str) else list(wanted)
        unknown = [w for w in wanted if w not in data and w not in {key_source(k) for k in keys}]
        if unknown:
            raise ConfigError(
                f"{path}: unknown eval_data key(s) {unknown}; available: "
                + ", ".join(f"{k} ({key_source(k)})" for k in keys)
            )
        keys = [k for k in keys if k in wanted or key_source(k) in wanted]
    count = 0
    for key in keys:
        records = data[key]
        if not isinstance(records, list):
            raise DataError(path, None, key, f"expected a list of records, got {type(records).__name__}")
        for i, rec in enumerate(records):
            yield i, count, (key, i, rec)
            count += 1


def _convert(raw: Any, ctx: RecordContext) -> MCQ:
    key, i, rec = raw
    ctx = RecordContext(ctx.path, i, ctx.index, ctx.options, prefix=f"{key}.")
    source = key_source(key)
    return convert_answer_idx(
        as_record(rec, ctx), ctx, id=f"{source}-{i}", source=source, meta={"eval_key": key, "index": i}
    )


HUATUO_EVAL = Format(
    name="huatuo_eval",
    help="HuatuoGPT-o1 eval_data.json (benchmark key -> records with answer_idx); ids <source>-<i>",
    convert=_convert,
    read=_read,
    options={"keys": "Benchmark keys or source names to load (default: all)."},
)

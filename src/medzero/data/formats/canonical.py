"""medzero's own files: the canonical JSONL (one :meth:`MCQ.to_dict` per line, e.g. the bundled
sample) and prepared training rows (:func:`medzero.data.rows.mcq_to_row`: options as a list,
meta as a JSON string). A ``medzero data prepare`` output folder loads as ``prepared``."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from medzero.data.formats.base import (
    Format,
    RawItem,
    RecordContext,
    as_record,
    get_field,
    get_letter,
    get_text,
    iter_records,
    letter_dict,
    letter_list,
)
from medzero.data.schema import MCQ
from medzero.errors import DataError

PREPARED_TRAIN = "train.jsonl"


def _convert(raw: Any, ctx: RecordContext) -> MCQ:
    rec = as_record(raw, ctx)
    options = get_field(rec, "options", ctx, (dict, list))
    options = (
        letter_dict(options, "options", ctx)
        if isinstance(options, dict)
        else letter_list(options, "options", ctx)
    )
    meta = rec.get("meta") or {}
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except json.JSONDecodeError:
            raise ctx.error("meta", "not valid JSON") from None
    if not isinstance(meta, dict):
        raise ctx.error("meta", f"expected an object, got {type(meta).__name__}")
    return MCQ(
        id=str(get_field(rec, "id", ctx, (str, int))),
        source=get_text(rec, "source", ctx),
        question=get_text(rec, "question", ctx),
        options=options,
        answer=get_letter(rec, "answer", ctx),
        meta=meta,
    )


def _read_prepared(path: Path, options: Mapping[str, Any]) -> Iterator[RawItem]:
    train = path / PREPARED_TRAIN
    if not train.is_file():
        raise DataError(path, None, None, f"not a prepared folder: {PREPARED_TRAIN} is missing")
    return iter_records(train)


MEDZERO = Format(
    name="medzero",
    help="medzero canonical JSONL (id, source, question, options, answer, meta) or prepared rows",
    convert=_convert,
)

PREPARED = Format(
    name="prepared",
    help=f"a `medzero data prepare` output folder (reads its {PREPARED_TRAIN})",
    convert=_convert,
    read=_read_prepared,
)

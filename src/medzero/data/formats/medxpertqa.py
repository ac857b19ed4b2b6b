"""MedXpertQA Text and MM: the Hugging Face form (``options`` dict A-J, ``label`` "E") and the official
GitHub eval-code form (``options`` list of ``{letter, content}``, ``label`` ["E"]).

Both repeat the options inside ``question`` after ``"\\nAnswer Choices:"``; that block is cut so
the stem is clean (the options come from the ``options`` field).

MedXpertQA MM has the same fields plus ``images``: file names of the pictures shipped beside the
JSONL file (in its folder or an ``images/`` sub-folder; the ``image_dir`` option points
elsewhere). The loader resolves and decodes them (:mod:`medzero.data.images`).
"""

from __future__ import annotations

from typing import Any

from medzero.data.formats.base import (
    Format,
    RecordContext,
    as_record,
    get_field,
    get_letter,
    get_text,
    letter_dict,
    split_answer_choices,
)
from medzero.data.schema import MCQ

META_FIELDS = ("medical_task", "body_system", "question_type")


def _options(rec: dict[str, Any], ctx: RecordContext) -> dict[str, str]:
    value = get_field(rec, "options", ctx, (dict, list))
    if isinstance(value, dict):
        return letter_dict(value, "options", ctx)
    out: dict[str, Any] = {}
    for i, item in enumerate(value):
        if not isinstance(item, dict) or "letter" not in item or "content" not in item:
            raise ctx.error(f"options[{i}]", "expected an object with 'letter' and 'content'")
        out[str(item["letter"])] = item["content"]
    return letter_dict(out, "options", ctx)


def _convert(raw: Any, ctx: RecordContext, source: str = "medxpertqa") -> MCQ:
    rec = as_record(raw, ctx)
    stem, _ = split_answer_choices(get_text(rec, "question", ctx))
    mcq_id = rec.get("id")
    return MCQ(
        id=str(mcq_id) if mcq_id not in (None, "") else f"{source}-{ctx.index}",
        source=source,
        question=stem,
        options=_options(rec, ctx),
        answer=get_letter(rec, "label", ctx),
        meta={k: rec[k] for k in META_FIELDS if rec.get(k) is not None},
    )


MEDXPERTQA = Format(
    name="medxpertqa",
    help="MedXpertQA Text, HF form (options dict, label 'E') or GitHub eval form (options list, label ['E'])",
    convert=_convert,
)


def _convert_mm(raw: Any, ctx: RecordContext) -> MCQ:
    rec = as_record(raw, ctx)
    if not rec.get("images"):
        raise ctx.error("images", "missing or empty: an MM question needs at least one image")
    return _convert(rec, ctx, source="medxpertqa_mm")


MEDXPERTQA_MM = Format(
    name="medxpertqa_mm",
    help="MedXpertQA MM: the Text fields plus `images` (file names beside the JSONL or in images/)",
    convert=_convert_mm,
    options={"image_dir": "Folder holding the images (default: beside the file, then its images/)."},
)

"""MedMCQA: the original release (``opa..opd``, ``cop``) and the MedXpertQA-repo form (stem +
``"\\nAnswer Choices: (A) ..."`` and ``label: ["A"]``).

``cop`` is 1-based in the GitHub release and 0-based in the Hugging Face copy; the loader never
guesses: pass ``cop_base=1`` or ``cop_base=0``.
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
    infer_split,
    split_answer_choices,
)
from medzero.data.schema import LETTERS, MCQ
from medzero.errors import ConfigError

_OPTION_KEYS = ("opa", "opb", "opc", "opd")


def _meta(rec: dict[str, Any], split: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for key, name in (("subject_name", "subject"), ("topic_name", "topic"), ("choice_type", "choice_type")):
        if rec.get(key) is not None:
            meta[name] = rec[key]
    if split:
        meta["split"] = split
    return meta


def _record_id(rec: dict[str, Any], ctx: RecordContext) -> str:
    if rec.get("id") not in (None, ""):
        return str(rec["id"])
    split = infer_split(ctx.path, ctx.options)
    return f"medmcqa-{split}-{ctx.index}" if split else f"medmcqa-{ctx.index}"


def _convert_original(raw: Any, ctx: RecordContext) -> MCQ:
    base = ctx.options.get("cop_base")
    if base not in (0, 1):
        raise ConfigError(
            f"{ctx.path}: MedMCQA's correct-option field 'cop' is 1-based in the GitHub release and "
            "0-based in the Hugging Face copy; say which with cop_base=1 or cop_base=0 "
            "(CLI: --cop-base 1 or --cop-base 0)"
        )
    rec = as_record(raw, ctx)
    question = get_text(rec, "question", ctx)
    options = {LETTERS[i]: get_text(rec, key, ctx) for i, key in enumerate(_OPTION_KEYS)}
    cop = get_field(rec, "cop", ctx, (int, str))
    try:
        pos = int(cop) - int(base)
    except ValueError:
        raise ctx.error("cop", f"expected an integer, got {cop!r}") from None
    if not 0 <= pos < len(options):
        raise ctx.error("cop", f"{cop!r} is out of range for cop_base={base} and {len(options)} options")
    return MCQ(
        id=_record_id(rec, ctx),
        source="medmcqa",
        question=question,
        options=options,
        answer=LETTERS[pos],
        meta=_meta(rec, infer_split(ctx.path, ctx.options)),
    )


def _convert_xpert_form(raw: Any, ctx: RecordContext) -> MCQ:
    rec = as_record(raw, ctx)
    stem, options = split_answer_choices(get_text(rec, "question", ctx))
    if not options:
        raise ctx.error("question", "no 'Answer Choices: (A) ...' block to read the options from")
    return MCQ(
        id=_record_id(rec, ctx),
        source="medmcqa",
        question=stem,
        options=options,
        answer=get_letter(rec, "label", ctx),
        meta=_meta(rec, infer_split(ctx.path, ctx.options)),
    )


MEDMCQA = Format(
    name="medmcqa",
    help="MedMCQA original release (opa..opd, cop); needs cop_base 1 (GitHub) or 0 (Hugging Face)",
    convert=_convert_original,
    options={
        "cop_base": "1 if 'cop' counts options from 1 (GitHub release), 0 if from 0 (HF copy). Required.",
        "split": "Split name for meta and generated ids (default: from the file name).",
    },
)

MEDMCQA_XPERT = Format(
    name="medmcqa_xpert",
    help='MedMCQA in the MedXpertQA repo form (stem + "Answer Choices: (A) ...", label ["A"])',
    convert=_convert_xpert_form,
    options={"split": "Split name for meta and generated ids (default: from the file name)."},
)

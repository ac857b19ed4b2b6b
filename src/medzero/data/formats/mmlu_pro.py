"""MMLU-Pro (TIGER-AI-Lab): JSONL or a JSON array of ``question_id, question, options (list),
answer (letter), answer_index, category, src``. The model-output files of the MMLU-Pro repo carry
the same fields plus predictions and load the same way. ``medical_only`` keeps the categories
health and biology (the "MMLU-Pro Medical" subset)."""

from __future__ import annotations

from typing import Any

from medzero.data.formats.base import (
    Format,
    RecordContext,
    as_record,
    get_field,
    get_letter,
    get_text,
    letter_list,
)
from medzero.data.schema import LETTERS, MCQ

MEDICAL_CATEGORIES = ("health", "biology")


def _convert(raw: Any, ctx: RecordContext) -> MCQ | None:
    rec = as_record(raw, ctx)
    category = rec.get("category")
    if ctx.options.get("medical_only") and category not in MEDICAL_CATEGORIES:
        return None
    question = get_text(rec, "question", ctx)
    options = letter_list(get_field(rec, "options", ctx, list), "options", ctx)
    if rec.get("answer") is not None:
        answer = get_letter(rec, "answer", ctx)
        index = rec.get("answer_index")
        if isinstance(index, int) and index >= 0 and LETTERS[index] != answer:
            raise ctx.error("answer_index", f"{index} points to {LETTERS[index]}, but answer is {answer}")
    else:
        index = get_field(rec, "answer_index", ctx, int)
        if not 0 <= index < len(options):
            raise ctx.error("answer_index", f"{index} is out of range for {len(options)} options")
        answer = LETTERS[index]
    qid = rec.get("question_id")
    meta = {k: rec[k] for k in ("category", "src") if rec.get(k) is not None}
    if qid is not None:
        meta["question_id"] = qid
    return MCQ(
        id=str(qid) if qid is not None else f"mmlu_pro-{ctx.index}",
        source="mmlu_pro",
        question=question,
        options=options,
        answer=answer,
        meta=meta,
    )


MMLU_PRO = Format(
    name="mmlu_pro",
    help="MMLU-Pro JSONL/JSON (question_id, question, options list, answer letter, category)",
    convert=_convert,
    options={"medical_only": "Keep only the categories health and biology (MMLU-Pro Medical)."},
)

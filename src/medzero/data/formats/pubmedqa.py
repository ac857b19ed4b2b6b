"""PubMedQA: ``ori_pqal.json`` (1000 PQA-L items, PMID -> record) and the official 500-item test
split ``test_ground_truth.json`` (PMID -> label).

The question is the abstract's contexts joined by spaces, a fixed bridge sentence, then the
question — the layout HuatuoGPT-o1's ``eval_data.json`` uses, so both copies give the same prompt
(and exact-overlap checks match them). Options are always ``A yes / B no / C maybe``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from medzero.data.formats.base import Format, RawItem, RecordContext, get_field, get_text
from medzero.data.schema import MCQ
from medzero.errors import DataError
from medzero.jsonl import read_json

BRIDGE = (
    "\n\nUsing the above document as a reference, please review the following question "
    "and choose the option you find most appropriate.\n"
)
OPTIONS = {"A": "yes", "B": "no", "C": "maybe"}
_LETTER = {v: k for k, v in OPTIONS.items()}
GROUND_TRUTH_NAME = "test_ground_truth.json"
PQAL_NAME = "ori_pqal.json"


def _read_dict(path: Path, what: str) -> dict[str, Any]:
    data = read_json(path)
    if not isinstance(data, dict):
        raise DataError(path, None, None, f"expected a JSON object mapping PMID -> {what}")
    return data


def _ground_truth(path: Path, options: Mapping[str, Any]) -> dict[str, str] | None:
    given = options.get("ground_truth")
    if given:
        return _read_dict(Path(given), "label")
    sibling = path.with_name(GROUND_TRUTH_NAME)
    return _read_dict(sibling, "label") if sibling.is_file() else None


def _read_pqal(path: Path, options: Mapping[str, Any]) -> Iterator[RawItem]:
    data = _read_dict(path, "record")
    truth = _ground_truth(path, options)
    if options.get("official_only") and truth is None:
        raise DataError(
            path, None, None, f"official_only needs {GROUND_TRUTH_NAME} beside it or ground_truth="
        )
    for i, (pmid, rec) in enumerate(data.items()):
        official = None if truth is None else pmid in truth
        yield i, i, (pmid, rec, truth.get(pmid) if truth else None, official)


def _read_test(path: Path, options: Mapping[str, Any]) -> Iterator[RawItem]:
    truth = _read_dict(path, "label")
    pqal_path = Path(options["pqal"]) if options.get("pqal") else path.with_name(PQAL_NAME)
    if not pqal_path.is_file():
        raise DataError(
            path, None, None, f"the questions live in {PQAL_NAME}: put it beside this file or pass pqal="
        )
    pqal = _read_dict(pqal_path, "record")
    for i, (pmid, label) in enumerate(truth.items()):
        if pmid not in pqal:
            yield i, i, DataError(path, i, pmid, f"PMID not found in {pqal_path}")
            continue
        yield i, i, (pmid, pqal[pmid], label, True)


def _convert(raw: Any, ctx: RecordContext) -> MCQ | None:
    if isinstance(raw, DataError):
        raise raw
    pmid, rec, truth_label, official = raw
    if ctx.options.get("official_only") and not official:
        return None  # counted as filtered by the loader
    ctx = RecordContext(ctx.path, ctx.loc, ctx.index, ctx.options, prefix=f"{pmid}.")
    if not isinstance(rec, dict):
        raise ctx.error(None, f"expected a record object, got {type(rec).__name__}")
    question = get_text(rec, "QUESTION", ctx)
    contexts = get_field(rec, "CONTEXTS", ctx, list)
    if not contexts or not all(isinstance(c, str) for c in contexts):
        raise ctx.error("CONTEXTS", "expected a non-empty list of strings")
    decision = get_text(rec, "final_decision", ctx).strip().lower()
    if decision not in _LETTER:
        raise ctx.error("final_decision", f"expected yes/no/maybe, got {decision!r}")
    if truth_label is not None and str(truth_label).strip().lower() != decision:
        raise ctx.error(
            "final_decision", f"{decision!r} disagrees with the ground-truth label {truth_label!r}"
        )
    meta: dict[str, Any] = {"pmid": str(pmid)}
    if official is not None:
        meta["official_test"] = official
    if rec.get("YEAR"):
        meta["year"] = rec["YEAR"]
    return MCQ(
        id=str(pmid),
        source="pubmedqa",
        question=" ".join(contexts) + BRIDGE + question,
        options=dict(OPTIONS),
        answer=_LETTER[decision],
        meta=meta,
    )


PUBMEDQA = Format(
    name="pubmedqa",
    help="PubMedQA ori_pqal.json (PMID -> QUESTION, CONTEXTS, final_decision); marks official_test items",
    convert=_convert,
    read=_read_pqal,
    options={
        "ground_truth": f"Path of {GROUND_TRUTH_NAME} (default: beside the file, when present).",
        "official_only": "Keep only the 500 PMIDs of the official test split.",
    },
)

PUBMEDQA_TEST = Format(
    name="pubmedqa_test",
    help=f"PubMedQA official test split {GROUND_TRUTH_NAME} (PMID -> label); questions from {PQAL_NAME}",
    convert=_convert,
    read=_read_test,
    options={"pqal": f"Path of {PQAL_NAME} (default: beside the file)."},
)

"""How often a search finds the document a query was written from (top-k hit rates).

PubMedQA gives such pairs for free: each item's QUESTION was written from the abstract whose
CONTEXTS the ``pubmedqa`` corpus reader indexes under the same PMID.
"""

from __future__ import annotations

from pathlib import Path

from medzero.errors import DataError
from medzero.jsonl import read_json
from medzero.tools.corpus import CorpusIndex


def pubmedqa_questions(path: str | Path) -> list[tuple[str, str]]:
    """``(PMID, QUESTION)`` pairs of a PubMedQA ``ori_pqal.json``, in file order."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise DataError(path, None, None, "expected a JSON object mapping PMID -> record")
    out = []
    for pmid, rec in data.items():
        question = rec.get("QUESTION") if isinstance(rec, dict) else None
        if not isinstance(question, str) or not question.strip():
            raise DataError(path, None, f"{pmid}.QUESTION", "expected a non-empty string")
        out.append((str(pmid), question))
    return out


def self_retrieval(
    index: CorpusIndex, queries: list[tuple[str, str]], ks: tuple[int, ...] = (1, 5)
) -> dict[str, float | int]:
    """Share of ``(doc id, query)`` pairs whose document is among the top ``k`` hits, for each k.

    A document counts as found when any of its chunks is among the first ``k`` hits. Returns
    ``{"queries": n, "top1": ..., "top5": ...}`` (fractions).
    """
    if not queries:
        raise ValueError("no queries")
    found = dict.fromkeys(ks, 0)
    for doc_id, query in queries:
        ids = [h.id for h in index.search(query, max(ks))]
        for k in ks:
            found[k] += doc_id in ids[:k]
    return {"queries": len(queries), **{f"top{k}": found[k] / len(queries) for k in ks}}

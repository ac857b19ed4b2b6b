"""Contamination guard: benchmark questions whose stem is in the corpus.

A search tool that can retrieve a benchmark question's own text (and often the passage that
answers it) turns evaluation into look-up. This check uses the same keys as ``medzero data
overlap`` (:func:`medzero.data.schema.normalize_text` and :func:`medzero.data.overlap.ngrams`),
measured the other way round: the share of a question's word ``n``-grams found in one document.

* **exact**: the normalised stem is a substring of the normalised document (title + text);
* **near**: at least ``threshold`` of the stem's n-grams occur in one document.

Each match names the document and the chunks that hold the shared n-grams (what a search would
return). The benchmark questions are indexed (n-gram -> questions) and the corpus is streamed, so
memory grows with the benchmarks, not with the corpus. Stems shorter than ``n`` words cannot be
checked this way and are counted as ``too_short``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from medzero.console import make_progress
from medzero.data.overlap import ngrams
from medzero.data.schema import MCQ, normalize_text
from medzero.tools.chunking import Chunk, rebuild_text
from medzero.tools.corpus import CorpusIndex


@dataclass(frozen=True)
class CorpusMatch:
    """A benchmark question found in a corpus document."""

    eval_id: str
    doc_id: str
    chunks: tuple[int, ...]
    kind: str  # "exact" or "near"
    score: float  # share of the stem's n-grams in the document, 0..1

    def to_dict(self) -> dict[str, Any]:
        return {
            "eval_id": self.eval_id,
            "doc_id": self.doc_id,
            "chunks": list(self.chunks),
            "kind": self.kind,
            "score": round(self.score, 4),
        }


class _StemIndex:
    """The benchmark side: each stem's n-grams, and n-gram -> stems that contain it."""

    def __init__(self, questions: list[MCQ], n: int, threshold: float):
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        self.questions, self.n, self.threshold = questions, n, threshold
        self.grams: list[frozenset[tuple[str, ...]]] = []
        self.postings: dict[tuple[str, ...], list[int]] = defaultdict(list)
        self.too_short = 0
        for qi, m in enumerate(questions):
            grams = ngrams(m.question, n)
            if not grams or len(next(iter(grams))) < n:
                self.too_short += 1
                grams = frozenset()
            self.grams.append(grams)
            for g in grams:
                self.postings[g].append(qi)

    def check(self, doc_id: str, title: str, chunks: list[Chunk], best: dict[int, CorpusMatch]) -> None:
        """Record in ``best`` the stems this document holds better than any document before it."""
        text = f"{title}\n{rebuild_text(chunks)}"
        shared: dict[int, int] = defaultdict(int)
        for g in ngrams(text, self.n):
            for qi in self.postings.get(g, ()):
                shared[qi] += 1
        for qi, count in shared.items():
            score = count / len(self.grams[qi])
            if score < self.threshold or (qi in best and best[qi].score >= score):
                continue
            kind = "exact" if normalize_text(self.questions[qi].question) in normalize_text(text) else "near"
            where = tuple(
                i
                for i, c in enumerate(chunks)
                if not self.grams[qi].isdisjoint(ngrams(f"{title}\n{c.text}", self.n))
            )
            best[qi] = CorpusMatch(self.questions[qi].id, doc_id, where, kind, score)


def find_in_corpus(
    index: CorpusIndex, questions: list[MCQ], n: int = 8, threshold: float = 0.5
) -> tuple[list[CorpusMatch], int]:
    """Matches (the best document per question) and the number of stems too short to check."""
    stems = _StemIndex(questions, n, threshold)
    best: dict[int, CorpusMatch] = {}
    titles = {row["id"]: row["title"] for row in index.chunks}
    documents = index.document_chunks()
    with make_progress(transient=True) as progress:
        task = progress.add_task("checking documents", total=len(documents))
        for doc_id, chunks in documents.items():
            stems.check(doc_id, titles[doc_id], chunks, best)
            progress.advance(task)
    return [best[qi] for qi in sorted(best)], stems.too_short


def corpus_overlap_report(
    index: CorpusIndex, name: str, questions: list[MCQ], n: int = 8, threshold: float = 0.5
) -> dict[str, Any]:
    """Counts and matches of one benchmark against the corpus, in the shape of ``data overlap``'s."""
    found, too_short = find_in_corpus(index, questions, n, threshold)
    exact = sum(m.kind == "exact" for m in found)
    return {
        "benchmark": name,
        "records": len(questions),
        "exact": exact,
        "near": len(found) - exact,
        "too_short": too_short,
        "contaminated_frac": round(len(found) / len(questions), 4) if questions else 0.0,
        "matches": [m.to_dict() for m in found],
    }

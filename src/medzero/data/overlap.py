"""Contamination between a training set and benchmarks: exact and near-duplicate questions.

* **exact**: equal :func:`~medzero.data.schema.normalize_text` of the question stems;
* **near**: word ``n``-gram containment — the share of the benchmark question's n-grams that
  also occur in one training question — at or above ``threshold``.

Near matches use an inverted index from n-gram to training questions, so the cost grows with the
number of shared n-grams, not with train x benchmark pairs. N-grams shared by many training
questions (boilerplate such as "which of the following is the most likely diagnosis") are not
used to find candidates (``max_df``) but still count in the score. Questions shorter than ``n``
words are compared as one n-gram of all their words.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from medzero.data.images import image_digest
from medzero.data.schema import MCQ, normalize_text

_WORD = re.compile(r"\w+")


def ngrams(text: str, n: int) -> frozenset[tuple[str, ...]]:
    """Word n-grams of the normalised text (one gram of all words when shorter than ``n``)."""
    words = _WORD.findall(normalize_text(text))
    if not words:
        return frozenset()
    if len(words) < n:
        return frozenset([tuple(words)])
    return frozenset(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


@dataclass(frozen=True)
class Match:
    """One benchmark question found in the training set."""

    eval_id: str = field(metadata={"help": "Benchmark question id."})
    train_id: str = field(metadata={"help": "Most similar training question id."})
    kind: str = field(
        metadata={
            "help": "'exact' (same normalised text), 'image' (an identical image file) or 'near' "
            "(n-gram containment)."
        }
    )
    score: float = field(metadata={"help": "Containment of the benchmark question's n-grams, 0..1."})

    def to_dict(self) -> dict[str, Any]:
        return {
            "eval_id": self.eval_id,
            "train_id": self.train_id,
            "kind": self.kind,
            "score": round(self.score, 4),
        }


@dataclass
class OverlapIndex:
    """Index of a training set for repeated :meth:`matches` queries."""

    train: list[MCQ] = field(metadata={"help": "Training questions."})
    n: int = field(default=8, metadata={"help": "Words per n-gram (8 is the usual contamination setting)."})
    max_df: int = field(
        default=50,
        metadata={"help": "N-grams in more training questions than this are not used to find candidates."},
    )

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"n must be >= 1, got {self.n}")
        self._exact: dict[str, str] = {}
        self._images: dict[str, str] = {}  # image sha1 -> first training id showing it
        self._grams: list[frozenset[tuple[str, ...]]] = []
        self._postings: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for i, m in enumerate(self.train):
            self._exact.setdefault(normalize_text(m.question), m.id)
            for path in m.images:
                self._images.setdefault(image_digest(path), m.id)
            grams = ngrams(m.question, self.n)
            self._grams.append(grams)
            for g in grams:
                self._postings[g].append(i)

    def best(self, question: str) -> tuple[int | None, float]:
        """Index of the training question with the highest containment score, and the score."""
        grams = ngrams(question, self.n)
        if not grams:
            return None, 0.0
        hits: Counter[int] = Counter()
        for g in grams:
            post = self._postings.get(g)
            if post and len(post) <= self.max_df:
                hits.update(post)
        best_i, best_score = None, 0.0
        for i, _ in hits.most_common(10):  # exact scores for the top candidates only
            score = len(grams & self._grams[i]) / len(grams)
            if score > best_score:
                best_i, best_score = i, score
        return best_i, best_score

    def matches(self, questions: list[MCQ], threshold: float = 0.5) -> list[Match]:
        """Benchmark questions found exactly, or with containment >= ``threshold``."""
        out = []
        for m in questions:
            exact = self._exact.get(normalize_text(m.question))
            if exact is not None:
                out.append(Match(m.id, exact, "exact", 1.0))
                continue
            shared = next((self._images[d] for d in map(image_digest, m.images) if d in self._images), None)
            if shared is not None:
                out.append(Match(m.id, shared, "image", 1.0))
                continue
            i, score = self.best(m.question)
            if i is not None and score >= threshold:
                out.append(Match(m.id, self.train[i].id, "near", score))
        return out


def overlap_report(
    index: OverlapIndex, name: str, questions: list[MCQ], threshold: float = 0.5
) -> dict[str, Any]:
    """Counts and matches of one benchmark against the indexed training set."""
    found = index.matches(questions, threshold)
    kinds = Counter(m.kind for m in found)
    return {
        "benchmark": name,
        "records": len(questions),
        "exact": kinds["exact"],
        "near": kinds["near"],
        "image": kinds["image"],
        "contaminated_frac": round(len(found) / len(questions), 4) if questions else 0.0,
        "matches": [m.to_dict() for m in found],
    }

"""Rewards that read the answer: accuracy, hedge penalty, length-scaled (cosine) accuracy."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from medzero.extract import Options
from medzero.extract import modes as extract_modes
from medzero.extract.text import answer_region, fold
from medzero.rewards.base import RewardFn, register


def named_options(text: str, opts: Options) -> set[str]:
    """The letters whose option text ``text`` names (normalised, whole words). A mention inside
    a longer option's mention ("iron deficiency" inside "iron deficiency anemia") names only the
    longer option.

    >>> sorted(named_options("Iron or zinc", Options({"A": "Iron", "B": "Zinc", "C": "Copper"})))
    ['A', 'B']
    """
    low = fold(text)
    taken: list[tuple[int, int]] = []
    named = set()
    for letter, t in opts.lowered():  # longest first
        p = low.find(t)
        while p >= 0:
            e = p + len(t)
            bounded = (p == 0 or not low[p - 1].isalnum()) and (e == len(low) or not low[e].isalnum())
            if bounded and not any(a <= p and e <= b for a, b in taken):
                named.add(letter)
                taken.append((p, e))
            p = low.find(t, p + 1)
    return named


def strict_letter(text: str, opts: Options, think_preopened: bool) -> str | None:
    return extract_modes.strict(text, opts, think_preopened).letter


@register
@dataclass
class Accuracy(RewardFn):
    """1.0 when the strict extractor's letter equals the gold ``answer``, else 0.0 (None without
    a gold answer).

    >>> Accuracy()(["<think>x</think><answer>B</answer>", "<answer>C</answer>"], answer=["B", "B"])
    [1.0, 0.0]
    """

    name = "accuracy"
    uses_answer = True
    think_preopened: bool = field(
        default=False,
        metadata={"help": "the chat template opened <think>, so the completion starts inside it"},
    )
    text_credit: float = field(
        default=0.0,
        metadata={
            "help": "partial credit (0..1) when no letter is found but the text after the thinking "
            "names the gold option's text and no other option's (with no option texts known: "
            "contains the `answer_text` column); 0 turns it off"
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.text_credit <= 1.0:
            raise ValueError(f"accuracy: text_credit must be in [0, 1], got {self.text_credit}")

    def score(self, text: str, gold: str | None, opts: Options, row: dict[str, Any]) -> float | None:
        if not gold:
            return None
        letter = strict_letter(text, opts, self.think_preopened)
        if letter is not None:
            return 1.0 if letter == gold.strip().upper() else 0.0
        if self.text_credit:
            _, lo, unclosed = answer_region(text, self.think_preopened)
            if not unclosed and self._names_only_gold(text[lo:], gold.strip().upper(), opts, row):
                return self.text_credit
        return 0.0

    @staticmethod
    def _names_only_gold(answer: str, gold: str, opts: Options, row: dict[str, Any]) -> bool:
        """True when ``answer`` names the gold option's text and no other option's: listing
        several option texts is a hedge and earns nothing (else listing them all would pay)."""
        if opts.texts:
            return named_options(answer, opts) == {gold}
        gold_text = fold(str(row.get("answer_text") or ""))
        return bool(gold_text) and gold_text in fold(answer)

    def bounds(self, correct: bool) -> tuple[float, float]:
        return (1.0, 1.0) if correct else (0.0, self.text_credit)

    def outcome_bounds(self, outcome: str) -> tuple[float, float]:
        # text credit goes only to a letterless answer naming one option: never to a list
        return (1.0, 1.0) if outcome == "correct" else (0.0, 0.0)


@register
@dataclass
class HedgePenalty(RewardFn):
    """-1.0 when the final answer hedges ("A or B", "A/B", all letters, two different
    ``<answer>`` tags), else 0.0.

    >>> HedgePenalty()(["<answer>A or B</answer>", "<answer>A</answer>"])
    [-1.0, 0.0]
    """

    name = "hedge_penalty"
    think_preopened: bool = field(
        default=False,
        metadata={"help": "the chat template opened <think>, so the completion starts inside it"},
    )

    def score(self, text: str, gold: str | None, opts: Options, row: dict[str, Any]) -> float | None:
        return -1.0 if extract_modes.strict(text, opts, self.think_preopened).reason == "hedge" else 0.0

    def bounds(self, correct: bool) -> tuple[float, float]:
        return (0.0, 0.0) if correct else (-1.0, 0.0)

    def outcome_bounds(self, outcome: str) -> tuple[float, float]:
        return (-1.0, -1.0) if outcome == "listed" else (0.0, 0.0)


@register
@dataclass
class CosineLength(RewardFn):
    """Length-scaled accuracy (the cosine schedule of Open-R1 / Yeo et al. 2025): a correct
    answer earns between ``max_correct`` (empty) and ``min_correct`` (at ``max_len``), a wrong
    one between ``max_wrong`` (empty) and ``min_wrong`` (at ``max_len``), so short correct and
    long wrong answers are preferred. Beyond ``max_len`` the end value holds.

    >>> r = CosineLength(max_len=100, unit="chars")
    >>> r(["<answer>A</answer>", "<answer>B</answer>"], answer=["A", "A"])  # doctest: +ELLIPSIS
    [0.961..., -0.538...]
    """

    name = "cosine_length"
    uses_answer = True
    max_len: int = field(
        default=1000, metadata={"help": "length (in `unit`) where the cosine reaches its end"}
    )
    unit: Literal["tokens", "chars"] = field(
        default="tokens",
        metadata={"help": "tokens (needs TRL's completion_ids) or chars", "choices": ["tokens", "chars"]},
    )
    min_correct: float = field(default=0.5, metadata={"help": "value of a correct answer at max_len"})
    max_correct: float = field(default=1.0, metadata={"help": "value of an empty correct answer"})
    min_wrong: float = field(default=-0.5, metadata={"help": "value of an empty wrong answer"})
    max_wrong: float = field(default=-1.0, metadata={"help": "value of a wrong answer at max_len"})
    think_preopened: bool = field(
        default=False,
        metadata={"help": "the chat template opened <think>, so the completion starts inside it"},
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_len <= 0:
            raise ValueError(f"cosine_length: max_len must be > 0, got {self.max_len}")
        if self.unit not in ("tokens", "chars"):
            raise ValueError(f"cosine_length: unit must be 'tokens' or 'chars', got {self.unit!r}")

    def score(self, text: str, gold: str | None, opts: Options, row: dict[str, Any]) -> float | None:
        if not gold:
            return None
        if self.unit == "tokens":
            if "n_tokens" not in row:
                raise ValueError("cosine_length with unit='tokens' needs completion_ids (TRL passes them)")
            n = row["n_tokens"]
        else:
            n = len(text)
        cos = math.cos(min(n / self.max_len, 1.0) * math.pi)
        if strict_letter(text, opts, self.think_preopened) == gold.strip().upper():
            lo, hi = self.min_correct, self.max_correct
        else:
            lo, hi = self.max_wrong, self.min_wrong
        return lo + 0.5 * (hi - lo) * (1.0 + cos)

    def bounds(self, correct: bool) -> tuple[float, float]:
        pair = (self.min_correct, self.max_correct) if correct else (self.max_wrong, self.min_wrong)
        return min(pair), max(pair)

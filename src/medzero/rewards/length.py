"""Rewards on length and repetition: DAPO's soft overlong punishment, n-gram repetition."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from medzero.extract import Options
from medzero.rewards.base import RewardFn, register


@register
@dataclass
class Overlong(RewardFn):
    """DAPO's soft overlong punishment (Yu et al. 2025, eq. 13): 0 up to
    ``max_completion_length - cache_length``, then falling linearly to -1 at
    ``max_completion_length``, -1 beyond.

    >>> Overlong(max_completion_length=100, cache_length=20, unit="chars")(["x" * 50, "x" * 90, "x" * 100])
    [0.0, -0.5, -1.0]
    """

    name = "overlong"
    required = ("max_completion_length",)
    max_completion_length: int | None = field(
        default=None, metadata={"help": "the trainer's max_completion_length (required), in `unit`"}
    )
    cache_length: int = field(
        default=0,
        metadata={
            "help": "length of the soft punishment buffer before the limit; 0 means "
            "max_completion_length // 5 (DAPO used 4096 of 20480)"
        },
    )
    unit: Literal["tokens", "chars"] = field(
        default="tokens",
        metadata={"help": "tokens (needs TRL's completion_ids) or chars", "choices": ["tokens", "chars"]},
    )

    def _limits(self) -> tuple[int, int]:
        if not self.max_completion_length or self.max_completion_length <= 0:
            raise ValueError("overlong: set max_completion_length (the trainer's) in the reward params")
        cache = self.cache_length or self.max_completion_length // 5
        if not 0 < cache <= self.max_completion_length:
            raise ValueError(
                f"overlong: cache_length must be in (0, max_completion_length={self.max_completion_length}], got {cache}"
            )
        return self.max_completion_length, cache

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_completion_length is not None:
            self._limits()

    def score(self, text: str, gold: str | None, opts: Options, row: dict[str, Any]) -> float | None:
        limit, cache = self._limits()
        if self.unit == "tokens":
            if "n_tokens" not in row:
                raise ValueError("overlong with unit='tokens' needs completion_ids (TRL passes them)")
            n = row["n_tokens"]
        else:
            n = len(text)
        if n <= limit - cache:
            return 0.0
        if n >= limit:
            return -1.0
        return (limit - cache - n) / cache

    def bounds(self, correct: bool) -> tuple[float, float]:
        return -1.0, 0.0


@register
@dataclass
class Repetition(RewardFn):
    """Minus the fraction of repeated word n-grams: 0 for text without a repeated n-gram, close
    to -1 for a loop ("the the the ...").

    >>> Repetition(ngram=2)(["a b c d", "x y x y x y"])
    [0.0, -0.6]
    """

    name = "repetition"
    ngram: int = field(default=3, metadata={"help": "n-gram size in words (Open-R1 uses 3)"})

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.ngram < 1:
            raise ValueError(f"repetition: ngram must be >= 1, got {self.ngram}")

    def score(self, text: str, gold: str | None, opts: Options, row: dict[str, Any]) -> float | None:
        words = text.lower().split()
        total = len(words) - self.ngram + 1
        if total <= 0:
            return 0.0
        distinct = len(set(zip(*(words[i:] for i in range(self.ngram)), strict=False)))
        return distinct / total - 1.0

    def bounds(self, correct: bool) -> tuple[float, float]:
        return -1.0, 0.0

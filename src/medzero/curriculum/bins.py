"""Difficulty bins from pass rates.

A question's *pass rate* is the fraction of K sampled answers that were correct (``medzero data
grade``), or the running fraction of correct completions seen during training (online re-grading).
It maps to one of four bins:

========  =====================================================
unsolved  pass rate 0 (no sample was right)
hard      0 < pass rate < ``medium_min``
medium    ``medium_min`` <= pass rate < ``easy_min``
easy      pass rate >= ``easy_min``
========  =====================================================

>>> t = BinThresholds()
>>> [assign_bin(p, t) for p in (0.0, 0.125, 0.25, 0.5, 0.75, 1.0)]
['unsolved', 'hard', 'medium', 'medium', 'easy', 'easy']
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from medzero.errors import ConfigError

Bin = Literal["easy", "medium", "hard", "unsolved"]
BINS: tuple[str, ...] = ("easy", "medium", "hard", "unsolved")
"""All bin names, from easiest to hardest."""


@dataclass(frozen=True)
class BinThresholds:
    """Pass-rate cut points between the difficulty bins."""

    easy_min: float = field(
        default=0.75,
        metadata={
            "help": "Pass rate at or above which a question is 'easy' (0 < medium_min < easy_min <= 1). "
            "With K=8 samples the default makes 6/8 or more correct easy."
        },
    )
    medium_min: float = field(
        default=0.25,
        metadata={
            "help": "Pass rate at or above which a question is 'medium' rather than 'hard'. Anything above 0 "
            "and below it is 'hard'; exactly 0 is 'unsolved'. With K=8 the default makes 1/8 hard, 2/8 medium."
        },
    )

    def __post_init__(self) -> None:
        if not (0.0 < self.medium_min < self.easy_min <= 1.0):
            raise ConfigError(
                f"difficulty thresholds need 0 < medium_min < easy_min <= 1, got "
                f"medium_min={self.medium_min}, easy_min={self.easy_min}"
            )

    @classmethod
    def from_dict(cls, values: dict | None, where: str = "thresholds") -> BinThresholds:
        """Build from a recipe/CLI mapping; unknown keys are a :class:`ConfigError` naming ``where``."""
        values = dict(values or {})
        known = {"easy_min", "medium_min"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {unknown}; expected {sorted(known)}")
        try:
            return cls(**{k: float(v) for k, v in values.items()})
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: thresholds must be numbers ({exc})") from None

    def to_dict(self) -> dict[str, float]:
        return {"easy_min": self.easy_min, "medium_min": self.medium_min}


def assign_bin(pass_rate: float, thresholds: BinThresholds | None = None) -> str:
    """The bin of one pass rate in [0, 1]; a value outside that range is a :class:`ValueError`."""
    t = thresholds or BinThresholds()
    if pass_rate is None or math.isnan(pass_rate) or not 0.0 <= pass_rate <= 1.0:
        raise ValueError(f"pass rate must be in [0, 1], got {pass_rate!r}")
    if pass_rate == 0.0:
        return "unsolved"
    if pass_rate >= t.easy_min:
        return "easy"
    if pass_rate >= t.medium_min:
        return "medium"
    return "hard"


def check_bin_names(names: Iterable[str], where: str) -> list[str]:
    """Return ``names`` as a list after checking each is a known bin (else :class:`ConfigError`)."""
    from medzero.registry import did_you_mean

    out = []
    for name in names:
        if name not in BINS:
            raise ConfigError(
                f'{where}: unknown difficulty bin "{name}".{did_you_mean(str(name), BINS)} '
                f"Bins: {', '.join(BINS)}"
            )
        out.append(name)
    return out


def bin_counts(bins: Iterable[str]) -> dict[str, int]:
    """Count of each bin in :data:`BINS` order (zeros included), so reports always show all four."""
    c = Counter(bins)
    return {b: c.get(b, 0) for b in BINS}

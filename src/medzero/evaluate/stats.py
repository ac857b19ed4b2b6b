"""Statistics for evaluation scores: bootstrap confidence intervals, the paired bootstrap used by
``eval compare``, and the pass@k / maj@k aggregates for several samples per question.

All functions are pure and seeded: the same inputs give the same interval on every machine.
The bootstrap is vectorised (one ``(n_boot, n)`` index matrix, drawn in chunks to bound memory).

>>> bootstrap_ci([1, 1, 1, 1]).low
1.0
>>> round(pass_at_k(n=4, c=1, k=2), 3)
0.5
>>> majority_vote(["B", None, "A", "B"])
'B'
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

DEFAULT_N_BOOT = 2000
DEFAULT_SEED = 0
_CHUNK_CELLS = 4_000_000  # indices drawn per chunk (~32 MB of int64)


@dataclass(frozen=True)
class Interval:
    """A point estimate with a percentile-bootstrap interval."""

    estimate: float
    low: float
    high: float
    n: int
    confidence: float = 0.95

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _bootstrap_means(values: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Means of ``n_boot`` resamples (with replacement) of ``values``."""
    rng = np.random.default_rng(seed)
    n = values.shape[0]
    per_chunk = max(1, _CHUNK_CELLS // max(n, 1))
    means = np.empty(n_boot, dtype=np.float64)
    for start in range(0, n_boot, per_chunk):
        stop = min(n_boot, start + per_chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = values[idx].mean(axis=1)
    return means


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    confidence: float = 0.95,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = DEFAULT_SEED,
) -> Interval:
    """Percentile bootstrap interval of the mean of ``values`` (e.g. per-question 0/1 correctness).

    An empty input gives ``nan`` everywhere and ``n=0``.
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return Interval(math.nan, math.nan, math.nan, 0, confidence)
    means = _bootstrap_means(arr, n_boot, seed)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return Interval(float(arr.mean()), float(low), float(high), int(arr.size), confidence)


def paired_bootstrap_ci(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    confidence: float = 0.95,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = DEFAULT_SEED,
) -> Interval:
    """Interval of ``mean(a) - mean(b)`` resampling *questions* (pairs), so the per-question
    correlation between the two runs is kept; much tighter than two independent intervals."""
    xa = np.asarray(a, dtype=np.float64)
    xb = np.asarray(b, dtype=np.float64)
    if xa.shape != xb.shape:
        raise ValueError(f"paired bootstrap needs equal lengths, got {xa.shape} and {xb.shape}")
    return bootstrap_ci(xa - xb, confidence=confidence, n_boot=n_boot, seed=seed)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k estimator (Chen et al., 2021): the probability that at least one of ``k``
    samples drawn without replacement from ``n`` generated samples, ``c`` of them correct, is correct.

    ``1 - C(n-c, k) / C(n, k)``, computed as a stable product.
    """
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1, dtype=np.float64)))


def majority_vote(letters: Sequence[str | None]) -> str | None:
    """The most frequent non-empty answer; ties go to the answer reached first (sample order).
    ``None`` when no sample gave an answer (never a random guess)."""
    counts = Counter(x for x in letters if x is not None)
    if not counts:
        return None
    best = max(counts.values())
    return next(x for x in letters if x is not None and counts[x] == best)

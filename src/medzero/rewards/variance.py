"""Which GRPO groups carry no learning signal: the one definition, used by dynamic sampling
during training (:mod:`medzero.curriculum.dynamic`) and by ``medzero analyze``.

A group (the completions of one prompt) is *flat* when its real (non-NaN) total rewards differ
by at most :data:`FLAT_TOLERANCE`: every advantage is then 0. A group with fewer than two real
rewards is *lone*: it has no variance at all. Training treats a lone group as flat (it gives no
signal either); analysis leaves lone groups out of the flat fraction (there is no group to judge,
e.g. when only one completion of a prompt was logged).

>>> flat, real = flat_groups([1, 1, 0, 1, float("nan"), 0.5], [0, 0, 1, 1, 2, 2])
>>> flat.tolist(), real.tolist()
([True, False, False], [2, 2, 1])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: rewards within this distance are equal (float sums of weighted rewards: 0.2 + 1.0 vs 1.2)
FLAT_TOLERANCE = 1e-6


def flat_groups(
    rewards: Sequence[float] | np.ndarray, groups: Sequence[Any] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(flat, real)`` per distinct group id (in sorted id order): whether the group has at least
    two real rewards, all within :data:`FLAT_TOLERANCE`, and how many real rewards it has."""
    reward = np.asarray(rewards, dtype=float)
    _, gi = np.unique(np.asarray(groups), return_inverse=True)
    n = int(gi.max()) + 1 if gi.size else 0
    ok = np.isfinite(reward)
    real = np.bincount(gi[ok], minlength=n)
    gmax = np.full(n, -np.inf)
    gmin = np.full(n, np.inf)
    np.maximum.at(gmax, gi[ok], reward[ok])
    np.minimum.at(gmin, gi[ok], reward[ok])
    flat = (real >= 2) & (gmax - gmin <= FLAT_TOLERANCE)
    return flat, real

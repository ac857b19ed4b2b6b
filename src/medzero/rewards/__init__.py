"""Pure reward functions over the one extractor, found by name (``rewards: {accuracy: 1.0}``).

Every reward has TRL's signature ``fn(completions, answer=None, options=None, **kwargs)`` and
returns ``list[float | None]``; completions may be strings or chat messages. ``rewards: seed``
is the seed study's reward preset (:mod:`medzero.rewards.seed`). See docs/rewards.md.
"""

from __future__ import annotations

from medzero.rewards.answer import Accuracy, CosineLength, HedgePenalty
from medzero.rewards.base import PRESETS, REWARDS, RewardFn, RewardPreset
from medzero.rewards.length import Overlong, Repetition
from medzero.rewards.seed import SeedAccuracy, SeedFormat, SeedXmlCount
from medzero.rewards.structure import Format, TagCount, well_formatted
from medzero.rewards.tools import SearchCost
from medzero.rewards.weights import (
    DEFAULT_WEIGHTS,
    build_reward_funcs,
    check_reward_weights,
    make_reward,
    resolve_rewards,
)

__all__ = [
    "DEFAULT_WEIGHTS",
    "PRESETS",
    "REWARDS",
    "Accuracy",
    "CosineLength",
    "Format",
    "HedgePenalty",
    "Overlong",
    "Repetition",
    "RewardFn",
    "RewardPreset",
    "SearchCost",
    "SeedAccuracy",
    "SeedFormat",
    "SeedXmlCount",
    "TagCount",
    "build_reward_funcs",
    "check_reward_weights",
    "make_reward",
    "resolve_rewards",
    "well_formatted",
]

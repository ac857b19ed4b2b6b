"""Rewards for the think-then-answer structure: ``format`` (strict / soft) and ``tag_count``.

Both count every tag-like fragment (``<think``, ``</ think``, ``<Answer``, ...), so a
tag inside the thinking, a repeated tag or a malformed one (``</ think>``) breaks the format:
``<think>x</think><answer>e</think><answer>A</answer>`` is *not* well formatted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from medzero.extract import Options
from medzero.rewards.base import RewardFn, register

TAGS = ("<think>", "</think>", "<answer>", "</answer>")
# Anything that looks like one of the tags, well formed or not ("</ think>", "<Answer >").
_ANY_TAG = re.compile(r"<[ \t]{0,3}/?[ \t]{0,3}(?:think|answer)", re.IGNORECASE)
_WS_ONLY = re.compile(r"\s*")


def tag_counts(text: str) -> tuple[list[int], bool]:
    """Exact count of each tag in :data:`TAGS`, and whether any malformed fragment exists."""
    counts = [text.count(t) for t in TAGS]
    stray = sum(1 for _ in _ANY_TAG.finditer(text)) != sum(counts)
    return counts, stray


def well_formatted(text: str, think_preopened: bool = False, soft: bool = False) -> bool:
    """True when ``text`` is (optional ``<think>``) thinking ``</think>`` then one ``<answer>``.

    strict: only whitespace around the blocks, non-empty thinking and answer.
    soft: any text between ``</think>`` and ``<answer>`` and after ``</answer>``; empty blocks allowed.
    Both: every tag exactly once (``<think>`` zero times when ``think_preopened``), in order.
    """
    counts, stray = tag_counts(text)
    if stray or counts[1:] != [1, 1, 1] or counts[0] != (0 if think_preopened else 1):
        return False
    t_open = 0 if think_preopened else text.find("<think>")
    t_close = text.find("</think>")
    a_open = text.find("<answer>")
    a_close = text.find("</answer>")
    if not t_open <= t_close < a_open < a_close:
        return False
    if not think_preopened and text[:t_open].strip():
        return False
    if soft:
        return True
    think = text[t_open + (0 if think_preopened else 7) : t_close]
    return (
        bool(think.strip())
        and bool(text[a_open + 8 : a_close].strip())
        and not text[t_close + 8 : a_open].strip()
        and not text[a_close + 9 :].strip()
    )


@register
@dataclass
class Format(RewardFn):
    """1.0 for a well-formatted think-then-answer completion, else 0.0 (see :func:`well_formatted`).

    >>> Format()(["<think>x</think>\\n<answer>A</answer>", "<think>x</think><answer>e</think><answer>A</answer>"])
    [1.0, 0.0]
    >>> Format(think_preopened=True)(["x</think><answer>A</answer>"])
    [1.0]
    """

    name = "format"
    variant: Literal["strict", "soft"] = field(
        default="strict",
        metadata={
            "help": "strict: only whitespace outside the blocks, non-empty blocks; soft: text allowed "
            "between/after the blocks",
            "choices": ["strict", "soft"],
        },
    )
    think_preopened: bool = field(
        default=False,
        metadata={"help": "the chat template opened <think>, so a <think> in the completion is a stray tag"},
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.variant not in ("strict", "soft"):
            raise ValueError(f"format: variant must be 'strict' or 'soft', got {self.variant!r}")

    def score(self, text: str, gold: str | None, opts: Options, row: dict[str, Any]) -> float | None:
        return 1.0 if well_formatted(text, self.think_preopened, self.variant == "soft") else 0.0

    def bounds(self, correct: bool) -> tuple[float, float]:
        return 0.0, 1.0


@register
@dataclass
class TagCount(RewardFn):
    """0.25 for each of the four tags that appears exactly once (Open-R1's shaping reward);
    with ``think_preopened`` the ``<think>`` quarter is earned by its absence. Any malformed
    tag fragment gives 0.

    >>> TagCount()(["<think>x</think><answer>A</answer>", "<answer>A</answer>"])
    [1.0, 0.5]
    """

    name = "tag_count"
    think_preopened: bool = field(
        default=False,
        metadata={"help": "the chat template opened <think>, so <think> should not appear in the completion"},
    )

    def score(self, text: str, gold: str | None, opts: Options, row: dict[str, Any]) -> float | None:
        counts, stray = tag_counts(text)
        if stray:
            return 0.0
        want = [0 if self.think_preopened else 1, 1, 1, 1]
        return sum(0.25 for c, w in zip(counts, want, strict=True) if c == w)

    def bounds(self, correct: bool) -> tuple[float, float]:
        return 0.0, 1.0

"""Rewards that see the tool calls of a completion: ``search_cost``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from medzero.extract import Options
from medzero.rewards.base import RewardFn, register


@register
@dataclass
class SearchCost(RewardFn):
    """``-cost`` per search beyond the first ``free`` ones, charged for at most ``cap`` searches:
    a price on looking things up, so the policy searches when it pays off in accuracy.
    Completions are TRL's conversations (a plain-text completion made no calls and costs 0).

    >>> call = {"type": "function", "function": {"name": "search", "arguments": {"query": "x"}}}
    >>> one = [{"role": "assistant", "content": "", "tool_calls": [call]},
    ...        {"role": "tool", "content": "no results"}, {"role": "assistant", "content": "<answer>A</answer>"}]
    >>> SearchCost(cost=0.1)([one, "<answer>A</answer>"])
    [-0.1, 0.0]
    """

    name = "search_cost"
    cost: float = field(default=0.1, metadata={"help": "penalty per charged search (>= 0)"})
    free: int = field(default=0, metadata={"help": "searches per completion that cost nothing (>= 0)"})
    cap: int = field(
        default=4,
        metadata={"help": "searches charged at most (bounds the penalty at cost * (cap - free))"},
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.cost < 0 or self.free < 0 or self.cap < self.free:
            raise ValueError(
                f"search_cost: need cost >= 0 and 0 <= free <= cap, got cost={self.cost}, "
                f"free={self.free}, cap={self.cap}"
            )

    def __call__(self, completions: Sequence[Any], *args: Any, **kwargs: Any) -> list[float | None]:
        from medzero.tools.search import count_searches

        return [self.penalty(count_searches(c)) for c in completions]

    def penalty(self, searches: int) -> float:
        """The reward for a completion that made ``searches`` searches."""
        charged = min(searches, self.cap) - min(searches, self.free)
        return -self.cost * charged if charged else 0.0

    def score(self, text: str, gold: str | None, opts: Options, row: dict[str, Any]) -> float | None:
        return 0.0  # text alone shows no calls; __call__ reads the conversation

    def bounds(self, correct: bool) -> tuple[float, float]:
        return (self.penalty(self.cap), 0.0)

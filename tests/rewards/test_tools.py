"""search_cost: the price of a search, read from TRL's conversational completions."""

from __future__ import annotations

import doctest

import pytest

import medzero.rewards.tools
from medzero.rewards import REWARDS, build_reward_funcs, check_reward_weights
from medzero.rewards.tools import SearchCost


def _conversation(n_calls: int) -> list[dict]:
    msgs = []
    for i in range(n_calls):
        call = {"type": "function", "function": {"name": "search", "arguments": {"query": f"q{i}"}}}
        msgs += [
            {"role": "assistant", "content": "", "tool_calls": [call]},
            {"role": "tool", "content": "no results"},
        ]
    return [*msgs, {"role": "assistant", "content": "<answer>A</answer>"}]


def test_doctests() -> None:
    assert doctest.testmod(medzero.rewards.tools).failed == 0


def test_cost_per_search_with_free_searches_and_cap() -> None:
    fn = SearchCost(cost=0.25, free=1, cap=3)
    got = fn([_conversation(n) for n in range(6)])
    assert got == [0.0, 0.0, -0.25, -0.5, -0.5, -0.5]  # none, free, charged, charged, capped...
    assert fn.bounds(True) == (-0.5, 0.0)


def test_plain_text_and_other_tools_cost_nothing() -> None:
    other = {"type": "function", "function": {"name": "calculator", "arguments": {"x": 1}}}
    conv = [{"role": "assistant", "content": "", "tool_calls": [other]}, {"role": "tool", "content": "1"}]
    assert SearchCost()(["<tool_call>{}</tool_call>", conv]) == [0.0, 0.0]


def test_registered_and_weight_check_accepts_a_small_cost() -> None:
    assert REWARDS.get("search_cost").__name__ == "search_cost"
    funcs, _ = build_reward_funcs({"accuracy": 1.0, "search_cost": 1.0}, {"search_cost": {"cost": 0.05}})
    assert funcs[1](completions=[_conversation(2)], answer=["A"]) == [pytest.approx(-0.1)]
    assert check_reward_weights({"accuracy": 1.0, "format": 0.2, "search_cost": 0.5}) == []
    assert check_reward_weights({"accuracy": 1.0, "search_cost": 1.0}, {"search_cost": {"cost": 0.5}})


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="cost >= 0"):
        SearchCost(cost=-1)
    with pytest.raises(ValueError, match="free <= cap"):
        SearchCost(free=3, cap=2)

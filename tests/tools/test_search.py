"""The search tool: its result text, its schema, and reading calls back out of a conversation."""

from __future__ import annotations

import doctest

import pytest

import medzero.tools.search
from medzero.errors import ConfigError
from medzero.tools.search import (
    NO_RESULTS,
    SearchTool,
    SearchToolConfig,
    assistant_text,
    count_searches,
    search_calls,
)


def test_doctests() -> None:
    assert doctest.testmod(medzero.tools.search).failed == 0


def test_tool_returns_id_tagged_passages(built_index) -> None:
    tool = SearchTool(SearchToolConfig(index=str(built_index), k=2, max_chars=20))
    out = tool("statin cholesterol")
    assert out.splitlines()[0] == "[atorva] Atorvastatin is a st..."
    assert tool("   ") == NO_RESULTS and tool("xyzzy") == NO_RESULTS
    fn = tool.function()
    assert fn.__name__ == "search" and fn("beta blocker").startswith("[metop] ")
    schema = tool.schema()["function"]
    assert schema["name"] == "search" and schema["parameters"]["required"] == ["query"]


def test_relative_index_is_found_next_to_the_recipe(built_index) -> None:
    tool = SearchTool(SearchToolConfig(index="index"), base_dir=built_index.parent)
    assert tool.path == built_index and len(tool.index) == 4


def test_config_rules() -> None:
    with pytest.raises(ConfigError, match="index"):
        SearchToolConfig()
    with pytest.raises(ConfigError, match="k must be"):
        SearchToolConfig(index="i", k=0)


def test_calls_are_read_back_in_order_with_errors_and_unanswered_calls() -> None:
    def call(q):
        args = q if isinstance(q, (dict, str)) else {}
        return {"type": "function", "function": {"name": "search", "arguments": args}}

    conv = [
        {"role": "assistant", "content": "<think>a</think>", "tool_calls": [call({"query": "one"})]},
        {"role": "tool", "name": "search", "content": "[d1] first\n[d2] second"},
        {"role": "assistant", "content": "", "tool_calls": [call('{"query": "two"}'), call({"q": 1})]},
        {"role": "tool", "name": "search", "content": {"error": "bad"}},
    ]
    calls = search_calls(conv)
    assert [c["query"] for c in calls] == ["one", "two", None]
    assert [c["ids"] for c in calls] == [["d1", "d2"], [], []]
    assert calls[1]["result"] == '{"error": "bad"}' and calls[2]["result"] is None
    assert count_searches(conv) == 3 and count_searches("plain text") == 0
    text = assistant_text(conv)
    assert text.startswith('<think>a</think><tool_call>{"name": "search", "arguments": {"query": "one"}}')
    assert "first" not in text  # tool results are not the model's text

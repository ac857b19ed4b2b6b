"""The ``search`` tool a policy calls while it reasons, and how its calls are read back.

A recipe's ``tools: {search: {index: INDEX, k: 3, max_calls: 2}}`` (:class:`ToolsSection`) gives a
:class:`SearchTool`: :meth:`SearchTool.function` is the plain Python function TRL's
``GRPOTrainer(tools=[...])`` and ``medzero eval --tools search`` call. TRL builds the tool's JSON
schema from the function's name, type hints and docstring, renders it into the prompt, parses the
model's ``<tool_call>`` and appends the returned text as a ``tool`` turn.

The result is one line per hit, best first, ``[doc id] passage`` (the passage cut to
``max_chars``), or ``no results`` — short on purpose: it is read by the model and counts against
its completion length, though not in its loss.

:func:`search_calls` reads the calls back out of a finished conversation (the assistant messages'
``tool_calls`` and the ``tool`` messages that answer them) for ``completions.jsonl``,
``items.jsonl``, the ``search_cost`` reward and the analysis. It is pure: the returned document ids
come from the result text, so a completion can be read without the index.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medzero.errors import ConfigError

NO_RESULTS = "no results"
_HIT_LINE = re.compile(r"^\[([^\]\n]+)\] ", re.M)


@dataclass
class SearchToolConfig:
    """The ``search`` tool: BM25 over a ``medzero corpus build`` index."""

    index: str = field(
        default="",
        metadata={"help": "Index folder written by `medzero corpus build` (relative: to the recipe file)."},
    )
    k: int = field(default=3, metadata={"help": "Passages returned per search (>= 1), best first."})
    max_calls: int = field(
        default=2,
        metadata={
            "help": "Tool rounds per completion (TRL's max_tool_calling_iterations): after this many "
            "rounds of calls the model's next turn is its last. >= 1."
        },
    )
    max_chars: int | None = field(
        default=None,
        metadata={"help": "Cut each returned passage to this many characters (None: whole chunks)."},
    )

    def __post_init__(self) -> None:
        if not self.index:
            raise ConfigError("tools.search.index: give the folder of a `medzero corpus build` index")
        for name, low in (("k", 1), ("max_calls", 1), ("max_chars", 1)):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < low):
                raise ConfigError(f"tools.search.{name} must be an integer >= {low}, got {value!r}")


@dataclass
class ToolsSection:
    """Tools the policy may call during training (``tools:`` in a recipe); only ``search`` exists."""

    search: SearchToolConfig | None = field(
        default=None, metadata={"help": "The corpus search tool (SearchToolConfig)."}
    )


def format_hits(hits: Sequence[Any], max_chars: int | None = None) -> str:
    """The text a search returns: ``[id] passage`` per hit, best first.

    >>> from medzero.tools.corpus import Hit
    >>> format_hits([Hit("ramipril", 0, 2.5, "", "Ramipril is an ACE inhibitor.")])
    '[ramipril] Ramipril is an ACE inhibitor.'
    >>> format_hits([])
    'no results'
    """
    if not hits:
        return NO_RESULTS
    lines = []
    for h in hits:
        text = " ".join(h.text.split())
        if max_chars is not None and len(text) > max_chars:
            text = text[:max_chars].rstrip() + "..."
        lines.append(f"[{h.id}] {text}")
    return "\n".join(lines)


class SearchTool:
    """The search tool over one index (loaded on first use)."""

    def __init__(self, config: SearchToolConfig, base_dir: Path | None = None):
        self.config = config
        path = Path(config.index).expanduser()
        if not path.is_absolute() and not path.exists() and base_dir is not None:
            path = base_dir / path
        self.path = path
        self._index: Any = None

    @property
    def index(self) -> Any:
        if self._index is None:
            from medzero.tools.corpus import CorpusIndex

            self._index = CorpusIndex(self.path)
        return self._index

    def __call__(self, query: str) -> str:
        if not isinstance(query, str) or not query.strip():
            return NO_RESULTS
        return format_hits(self.index.search(query, self.config.k), self.config.max_chars)

    def function(self):
        """``search(query) -> str``: what TRL's ``tools=`` takes (name, hints and docstring matter)."""
        tool = self

        def search(query: str) -> str:
            """Search the medical reference corpus and return the best matching passages.

            Args:
                query: The words to look up, e.g. a drug or disease name.
            """
            return tool(query)

        return search

    def schema(self) -> dict[str, Any]:
        """The OpenAI ``tools`` entry for this tool (the same schema TRL renders)."""
        from transformers.utils import get_json_schema

        return get_json_schema(self.function())


def call_arguments(function: Mapping[str, Any]) -> dict[str, Any]:
    """A call's arguments as a dict (servers send a JSON string; ``{}`` when unreadable)."""
    args = function.get("arguments")
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except json.JSONDecodeError:
            return {}
    return args if isinstance(args, dict) else {}


def search_calls(completion: Any) -> list[dict[str, Any]]:
    """The calls in a conversation, in order: ``{"name", "query", "ids", "result"}`` each.

    ``ids`` are the document ids of the returned passages (read from the result lines), ``result``
    the tool's text (``None`` when no tool turn answered the call, e.g. the round limit was
    reached). A plain-text completion has no calls.

    >>> msgs = [
    ...     {"role": "assistant", "content": "<think>x</think>", "tool_calls": [
    ...         {"type": "function", "function": {"name": "search", "arguments": {"query": "zorvatine"}}}]},
    ...     {"role": "tool", "name": "search", "content": "[zorvatine] Zorvatine is a statin."},
    ...     {"role": "assistant", "content": "<answer>B</answer>"},
    ... ]
    >>> search_calls(msgs)
    [{'name': 'search', 'query': 'zorvatine', 'ids': ['zorvatine'], 'result': '[zorvatine] Zorvatine is a statin.'}]
    """
    if isinstance(completion, (str, bytes)) or not isinstance(completion, Sequence):
        return []
    calls: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []  # calls still waiting for their tool turn
    for msg in completion:
        if not isinstance(msg, Mapping):
            continue
        role = msg.get("role")
        if role == "assistant":
            for call in msg.get("tool_calls") or []:
                fn = call.get("function", call) if isinstance(call, Mapping) else {}
                query = call_arguments(fn).get("query")
                rec = {
                    "name": str(fn.get("name", "")),
                    "query": query if isinstance(query, str) else None,
                    "ids": [],
                    "result": None,
                }
                calls.append(rec)
                pending.append(rec)
        elif role == "tool" and pending:
            rec = pending.pop(0)
            content = msg.get("content")
            text = content if isinstance(content, str) else json.dumps(content)
            rec["result"] = text
            rec["ids"] = _HIT_LINE.findall(text)
    return calls


def count_searches(completion: Any) -> int:
    """Number of ``search`` calls the model made in ``completion``."""
    return sum(1 for c in search_calls(completion) if c["name"] == "search")


def assistant_text(completion: Any) -> str:
    """What the model itself wrote: every assistant turn's text with its calls rendered as
    ``<tool_call>{json}</tool_call>``; tool results left out. A string is returned as is."""
    if isinstance(completion, str):
        return completion
    if not isinstance(completion, Sequence):
        return ""
    parts = []
    for msg in completion:
        if not isinstance(msg, Mapping) or msg.get("role", "assistant") != "assistant":
            continue
        content = msg.get("content")
        parts.append(content if isinstance(content, str) else "")
        for call in msg.get("tool_calls") or []:
            fn = call.get("function", call) if isinstance(call, Mapping) else {}
            body = {"name": fn.get("name"), "arguments": call_arguments(fn)}
            parts.append(f"<tool_call>{json.dumps(body, ensure_ascii=False)}</tool_call>")
    return "".join(parts)

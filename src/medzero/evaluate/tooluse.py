"""``medzero eval --tools search --index INDEX``: the training loop's tool use, at evaluation time.

:class:`ToolBackend` wraps a backend that takes ``tools`` (``hf``: the chat template lists the
tool and the completion is parsed as TRL parses it; ``openai``: the API's ``tools`` and
``tool_calls``). Each (question, sample) is a conversation: the model's turn is generated; when
it calls ``search`` (and fewer than ``max_calls`` rounds have run), the call is answered by
:class:`~medzero.tools.search.SearchTool` in a ``tool`` turn and the model is asked again, until
it answers without a call. As in training, the reward-side reading applies: the extracted
answer comes from the last turn, and ``max_new_tokens`` caps the model's own tokens over all
turns (tool results do not count).

:func:`evaluate_with_tools` scores OUT with the tool, then (unless ``tool_baseline`` is off) the
same items without it in ``OUT/without_tool``, with the same loaded model, and adds to the
summary the searches per question and accuracy with vs without the tool (paired bootstrap over
the shared questions, :func:`medzero.evaluate.compare.compare_runs`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from medzero.errors import ConfigError
from medzero.evaluate.backends import Backend, Generation, Message, position_seeds
from medzero.tools.search import SearchTool, SearchToolConfig, call_arguments, search_calls

WITHOUT_TOOL = "without_tool"
_ROUND_SEED = 1_000_003  # each round of a sampled conversation draws with its own seed


class ToolBackend:
    """A backend whose completions may search first; see the module docstring."""

    def __init__(self, inner: Backend, tool: SearchTool, max_calls: int):
        self.inner, self.tool, self.max_calls = inner, tool, max_calls
        self.name = inner.name
        self.think_preopened = inner.think_preopened
        self._fn = tool.function()
        self._spec: list[Any] = [tool.schema()] if inner.name == "openai" else [self._fn]

    def generate(
        self,
        prompts: list[list[Message]],
        n: int = 1,
        temperature: float = 0.0,
        max_new_tokens: int = 512,
        seed: int = 0,
        seeds: list[list[int]] | None = None,
    ) -> list[list[Generation]]:
        seeds = seeds if seeds is not None else position_seeds(seed, len(prompts), n)
        convs = [
            {"messages": list(prompts[i]), "seed": seeds[i][j], "tail": [], "tokens": 0, "prompt": 0}
            for i in range(len(prompts))
            for j in range(n)
        ]
        results: list[Generation | None] = [None] * len(convs)
        active = list(range(len(convs)))
        for rnd in range(self.max_calls + 1):
            if not active:
                break
            budget = {c: max_new_tokens - convs[c]["tokens"] for c in active}
            by_budget: dict[int, list[int]] = defaultdict(list)
            for c in active:
                by_budget[budget[c]].append(c)
            still = []
            for cap, group in sorted(by_budget.items()):
                gens = self.inner.generate(
                    [convs[c]["messages"] for c in group],
                    n=1,
                    temperature=temperature,
                    max_new_tokens=cap,
                    seed=seed,
                    seeds=[[convs[c]["seed"] + rnd * _ROUND_SEED] for c in group],
                    tools=self._spec,
                )
                for c, (gen,) in zip(group, gens, strict=True):
                    conv = convs[c]
                    if gen.error is not None:
                        results[c] = gen
                        continue
                    conv["prompt"] = conv["prompt"] or gen.prompt_tokens
                    conv["tokens"] += gen.completion_tokens
                    calls = gen.tool_calls or []
                    out_of_budget = conv["tokens"] >= max_new_tokens
                    if calls and rnd < self.max_calls and not out_of_budget:
                        self._answer(conv, gen.text, calls)
                        still.append(c)
                    else:
                        if calls:  # the turn ended in a call that will not be answered
                            conv["tail"].append(
                                {"role": "assistant", "content": gen.text, "tool_calls": calls}
                            )
                        reason = (
                            "length" if out_of_budget and gen.finish_reason == "length" else gen.finish_reason
                        )
                        results[c] = Generation(
                            gen.text,
                            conv["prompt"],
                            conv["tokens"],
                            reason,
                            tool_calls=search_calls(conv["tail"]),
                        )
            active = still
        return [[results[i * n + j] for j in range(n)] for i in range(len(prompts))]  # type: ignore[misc]

    def _answer(self, conv: dict[str, Any], text: str, calls: list[dict[str, Any]]) -> None:
        turn = [{"role": "assistant", "content": text, "tool_calls": calls}]
        for call in calls:
            fn = call.get("function", call)
            args = call_arguments(fn)
            if fn.get("name") == "search" and set(args) == {"query"}:
                result = self._fn(**args)
            else:
                result = f"error: unknown tool call {fn.get('name')!r} with arguments {sorted(args)}"
            msg = {"role": "tool", "name": str(fn.get("name", "")), "content": result}
            if call.get("id"):
                msg["tool_call_id"] = call["id"]
            turn.append(msg)
        conv["messages"].extend(turn)
        conv["tail"].extend(turn)

    def close(self) -> None:
        self.inner.close()


def make_tool(cfg: Any) -> SearchTool:
    """The search tool of an :class:`~medzero.evaluate.config.EvalConfig` (loaded now: a bad
    index fails before any model loads)."""
    if cfg.backend == "vllm":
        raise ConfigError("--tools works with the hf and openai backends (vllm: serve it, use openai)")
    tool = SearchTool(SearchToolConfig(index=cfg.index or "", k=cfg.tool_k, max_chars=cfg.tool_max_chars))
    len(tool.index)
    return tool


def evaluate_with_tools(cfg: Any, backend: Backend | None, run: Any) -> Any:
    """Score ``cfg.out`` with the tool (and the baseline without it); ``run`` is the plain
    evaluation function ``run(cfg, backend) -> Summary``."""
    from medzero.evaluate.runner import _make_backend
    from medzero.evaluate.summary import write_summary

    tool = make_tool(cfg)
    own = backend is None
    inner = backend or _make_backend(cfg)
    try:
        summary = run(cfg, ToolBackend(inner, tool, cfg.max_calls))
        if cfg.tool_baseline:
            base_cfg = replace(cfg, tools=None, out=str(Path(cfg.out) / WITHOUT_TOOL))
            run(base_cfg, inner)
            summary.tools = tool_summary(cfg.out, base_cfg.out, n_boot=cfg.n_boot)
        else:
            summary.tools = tool_summary(cfg.out, None, n_boot=cfg.n_boot)
        write_summary(summary, cfg.out)
    finally:
        if own:
            inner.close()
    return summary


def tool_summary(out: str | Path, baseline: str | Path | None, n_boot: int = 2000) -> dict[str, Any]:
    """Per benchmark: searches per question, share of completions that searched, accuracy by
    number of searches (strict), and with vs without the tool (paired, when ``baseline``)."""
    from medzero.evaluate.compare import compare_runs
    from medzero.evaluate.runner import ITEMS, read_items

    per_bench: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in read_items(Path(out) / ITEMS).values():
        per_bench[rec["benchmark"]].append(rec)
    result: dict[str, Any] = {}
    for bench, recs in sorted(per_bench.items()):
        counts = [sum(1 for c in r.get("tool_calls") or [] if c.get("name") == "search") for r in recs]
        by_n: dict[int, list[bool]] = defaultdict(list)
        for r, k in zip(recs, counts, strict=True):
            by_n[k].append(bool(r["correct"]["strict"]))
        result[bench] = {
            "completions": len(recs),
            "searches_per_question": float(np.mean(counts)),
            "searched": float(np.mean([k > 0 for k in counts])),
            "accuracy_by_searches": {
                str(k): {"n": len(v), "strict": float(np.mean(v))} for k, v in sorted(by_n.items())
            },
        }
    if baseline is not None:
        for d in compare_runs(out, baseline, n_boot=n_boot):
            entry = result.setdefault(d.benchmark, {})
            entry.setdefault("with_vs_without", {})[d.mode] = {
                "n_shared": d.n_shared,
                "with_tool": d.a,
                "without_tool": d.b,
                "difference": d.diff.to_dict(),
            }
    return result


def tools_markdown(tools: dict[str, Any]) -> str:
    """The summary.md section for a run with the tool."""
    lines = [
        "## With the search tool",
        "",
        "Accuracy in % (strict); the difference is with vs without the tool on the same questions,"
        " with a 95% paired bootstrap CI.",
        "",
        "| benchmark | searches / question | searched | with tool | without tool | difference [95% CI] |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for bench, t in tools.items():
        pair = (t.get("with_vs_without") or {}).get("strict")
        if pair:
            d = pair["difference"]
            cells = (
                f"{100 * pair['with_tool']:.1f} | {100 * pair['without_tool']:.1f} | "
                f"{100 * d['estimate']:+.1f} [{100 * d['low']:+.1f}, {100 * d['high']:+.1f}]"
            )
        else:
            cells = "— | — | (no baseline)"
        lines.append(
            f"| {bench} | {t.get('searches_per_question', 0):.2f} | {100 * t.get('searched', 0):.0f}% | {cells} |"
        )
    lines += ["", "Accuracy by number of searches (strict): "]
    for bench, t in tools.items():
        parts = [
            f"{k}: {100 * v['strict']:.1f}% (n={v['n']})"
            for k, v in t.get("accuracy_by_searches", {}).items()
        ]
        lines.append(f"- {bench}: " + ", ".join(parts))
    return "\n".join(lines) + "\n"

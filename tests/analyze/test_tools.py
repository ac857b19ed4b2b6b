"""Tool-use analysis on a small run with planted searches, quotes and correctness."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import pytest

import medzero.analyze.tools
from medzero.analyze.pipeline import analyze_run
from medzero.analyze.tools import answer_part, quotes_passage

PASSAGE = "[kelbidone] Kelbidone is a beta blocker."


def _call(query: str) -> dict:
    return {"name": "search", "query": query, "ids": ["kelbidone"], "result": PASSAGE}


def _row(step: int, sample: int, n_calls: int, quote: bool, correct: bool) -> dict:
    calls = [_call("kelbidone") for _ in range(n_calls)]
    call_text = "".join(
        '<tool_call>{"name": "search", "arguments": {"query": "kelbidone"}}</tool_call>' for _ in calls
    )
    answer = "<think>kelbidone is a beta blocker</think>" if quote else "<think>hmm</think>"
    answer += f"<answer>{'A' if correct else 'B'}</answer>"
    return {
        "step": step,
        "prompt_id": f"q{step}",
        "sample": sample,
        "completion": call_text + answer,
        "completion_tokens": 20,
        "truncated": False,
        "rewards": {"accuracy": float(correct), "format": 1.0},
        "reward": float(correct) + 0.2,
        "advantage": 0.0,
        "gold": "A",
        "rank": 0,
        "tool_calls": calls,
    }


@pytest.fixture
def tool_run(tmp_path: Path) -> Path:
    """Steps 1-10, 4 completions each. Steps 1-5: no searches, 1 of 4 correct; steps 6-10: every
    completion searches once (two of them twice), 3 of 4 correct, the correct ones quote the passage."""
    rows = []
    for step in range(1, 11):
        for s in range(4):
            if step <= 5:
                rows.append(_row(step, s, 0, False, s == 0))
            else:
                rows.append(_row(step, s, 2 if s == 3 and step <= 6 else 1, s < 3, s < 3))
    run = tmp_path / "run"
    run.mkdir()
    (run / "completions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (run / "metrics.jsonl").write_text(
        "".join(json.dumps({"step": s, "reward": 0.5}) + "\n" for s in range(1, 11))
    )
    return run


def test_doctests() -> None:
    assert doctest.testmod(medzero.analyze.tools).failed == 0


def test_quote_and_answer_part() -> None:
    assert answer_part('<tool_call>{"query": "x y z w"}</tool_call>rest') == "rest"
    assert not quotes_passage("kelbidone", [PASSAGE], n=4)  # the [id] tag is not a quote
    assert quotes_passage("Kelbidone is a beta", [PASSAGE], n=4)


def test_tool_use_in_analyze(tool_run: Path, tmp_path: Path) -> None:
    stats = analyze_run(tool_run, out_dir=tmp_path / "report", plots=False)
    t = stats["tools"]
    assert t["completions"] == 40
    assert t["per_step"]["searches_per_completion"][:5] == [0.0] * 5
    assert t["per_step"]["searches_per_completion"][5] == 1.25  # step 6: 1 + 1 + 1 + 2
    assert t["binned"][0]["searched"] == 0.0 and t["binned"][-1]["searched"] == 1.0
    assert t["quote"] == {"words": 4, "answers_with_passages": 20, "quoting": 15, "share": 0.75}
    by = {r["searches"]: r for r in t["accuracy_by_searches"]}
    assert by[0]["n"] == 20 and by[0]["accuracy"] == 0.25
    assert by[1]["n"] + by[2]["n"] == 20 and by[2]["accuracy"] == 0.0
    md = (tmp_path / "report" / "report.md").read_text()
    assert "## Tool use (search)" in md and "15 of 20" in md


def test_runs_without_tools_have_no_tool_section(planted_stats) -> None:
    stats, _, out = planted_stats
    assert "tools" not in stats and "Tool use" not in (out / "report.md").read_text()


def test_searches_over_training_is_a_figure_in_the_report(tool_run: Path, tmp_path: Path) -> None:
    """`medzero analyze` on a run with tool calls draws searches per completion over training as a
    PNG and the report shows it under the tool-use section (not only the table)."""
    out = tmp_path / "report"
    stats = analyze_run(tool_run, out_dir=out)
    assert "searches.png" in stats["plots"]
    png = (out / "searches.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    md = (out / "report.md").read_text()
    tools = md[md.index("## Tool use (search)") :]
    assert "searches.png" in tools.split("\n## ")[0]
    assert [(r["first_step"], r["last_step"]) for r in stats["tools"]["binned"]][:2] == [(1, 1), (2, 2)]


def test_runs_without_tools_draw_no_search_figure(planted_stats) -> None:
    stats, _, out = planted_stats
    assert "searches.png" not in stats["plots"] and not (out / "searches.png").exists()

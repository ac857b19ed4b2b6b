"""`medzero extract`: JSONL in, one JSONL line out per input line, errors named by line."""

from __future__ import annotations

import io
import json

from typer.testing import CliRunner

from medzero.cli import build_app
from medzero.extract.cli import run_extract

LINES = [
    {"id": "q1", "completion": "<think>x</think><answer>B</answer>", "options": ["A", "B", "C", "D"]},
    {"completion": "The answer is (C).", "options": {"A": "a", "B": "b", "C": "c"}},
    {"completion": [{"role": "assistant", "content": "Answer: A or B"}], "options": ["A", "B"]},
]


def _stdin(objs: list[object], bad: dict[int, str] | None = None) -> str:
    rows = [json.dumps(o) for o in objs]
    for pos, raw in (bad or {}).items():
        rows.insert(pos, raw)
    return "\n".join(rows) + "\n"


def test_all_modes_keep_order_and_report_methods() -> None:
    result = CliRunner().invoke(build_app(), ["extract"], input=_stdin(LINES))
    assert result.exit_code == 0, result.output
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert [o["strict"] for o in out] == ["B", "C", None]
    assert out[0]["id"] == "q1" and "id" not in out[1]
    assert out[0]["method"] == {"strict": "answer_tag", "last": "answer_tag", "lenient": "answer_tag"}
    assert out[2]["reason"]["strict"] == "hedge"
    assert set(out[1]) == {"strict", "last", "lenient", "method", "reason"}


def test_single_mode() -> None:
    result = CliRunner().invoke(build_app(), ["extract", "--mode", "last"], input=_stdin(LINES[:1]))
    assert json.loads(result.stdout) == {
        "id": "q1",
        "last": "B",
        "method": {"last": "answer_tag"},
        "reason": {"last": None},
    }


def test_think_preopened_flag() -> None:
    line = [{"completion": "The answer is A.</think><answer>B</answer>", "options": ["A", "B"]}]
    result = CliRunner().invoke(
        build_app(), ["extract", "-m", "strict", "--think-preopened"], input=_stdin(line)
    )
    assert json.loads(result.stdout)["strict"] == "B"


def test_malformed_lines_are_named_and_skipped() -> None:
    text = _stdin(
        LINES,
        bad={1: "{not json", 2: '{"completion": "x"}', 3: '{"completion": 3, "options": ["A"]}', 4: "[1]"},
    )
    out, err = io.StringIO(), io.StringIO()
    assert run_extract(io.StringIO(text + "\n\n"), out, err, ("strict",)) == 4
    rows = [json.loads(x) for x in out.getvalue().splitlines()]
    assert len(rows) == 7  # one per non-blank input line
    assert [r.get("line") for r in rows] == [None, 2, 3, 4, 5, None, None]
    assert rows[0]["strict"] == "B" and rows[5]["strict"] == "C"
    assert "invalid JSON" in rows[1]["error"] and '"options"' in rows[2]["error"]
    assert '"completion"' in rows[3]["error"] and "JSON object" in rows[4]["error"]
    assert err.getvalue().splitlines()[0].startswith("<stdin>:2: invalid JSON")
    result = CliRunner().invoke(build_app(), ["extract"], input=text)
    assert result.exit_code == 1

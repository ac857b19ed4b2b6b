"""Bad lines, malformed records and bad option values through the CLI (issue 15, attack items 4, 7-10)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

DEEP = "[" * 100_000 + "]" * 100_000  # RecursionError in json.loads
HUGE = '{"id": "x", "n": ' + "9" * 5000 + "}"  # ValueError: over 4300 digits


def _sample_lines() -> list[str]:
    text = (resources.files("medzero") / "resources" / "sample_mcq.jsonl").read_text(encoding="utf-8")
    return text.splitlines()


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    """Three good questions, a deeply nested line, a 5000-digit number, three more good ones."""
    lines = _sample_lines()
    path = tmp_path / "hostile.jsonl"
    path.write_text("\n".join([*lines[:3], DEEP, HUGE, *lines[3:6]]) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------- 7. one bad line, not all lines


def test_extract_goes_on_after_hostile_lines(cli):
    good = json.dumps({"id": "g", "completion": "<answer>B</answer>", "options": ["A", "B"]})
    res = cli("extract", "--mode", "strict", stdin="\n".join([DEEP, HUGE, good]) + "\n")
    assert res.code == 1 and "Traceback" not in res.text, res.text[-2000:]
    out = [json.loads(x) for x in res.out.splitlines()]
    assert out[0] == {"line": 1, "error": "invalid JSON (nested too deeply)"}
    assert out[1]["line"] == 2 and "4300 digits" in out[1]["error"]
    assert out[2]["id"] == "g" and out[2]["strict"] == "B"  # the line after them is still read
    assert "<stdin>:1:" in res.err and "<stdin>:2:" in res.err


def test_inspect_lists_hostile_lines(cli, hostile):
    res = cli("data", "inspect", hostile, "--json")
    assert res.code == 0, res.text[-2000:]
    summary = json.loads(res.out)
    assert summary["records"] == 6 and summary["errors"] == 2
    assert summary["first_errors"][0].endswith("hostile.jsonl:4: invalid JSON (nested too deeply)")
    assert "hostile.jsonl:5:" in summary["first_errors"][1]


def test_prepare_skips_hostile_lines_with_a_warning(cli, hostile, tmp_path):
    (tmp_path / "mix.yaml").write_text(f"- source: sample\n  path: {hostile}\n  count: 4\n")
    res = cli("data", "prepare", "--mix", "mix.yaml", "--out", "prep")
    assert res.code == 0, res.text[-2000:]
    assert "skipped 2 malformed record(s)" in res.text
    assert len((tmp_path / "prep" / "train.jsonl").read_text().splitlines()) == 4


# ------------------------------------------------------------------- 4. records dropped without a word


def test_overlap_refuses_malformed_records_unless_skip_bad(cli, hostile, tmp_path):
    train = tmp_path / "train.jsonl"
    train.write_text("\n".join([*_sample_lines()[:6], '{"broken']) + "\n")
    res = cli("data", "overlap", train, hostile)
    res.clear_error("train.jsonl: 1 malformed record(s)", "train.jsonl:7", "--skip-bad")
    res = cli("data", "overlap", train, hostile, "--skip-bad", "--json")
    assert res.code == 0, res.text[-2000:]
    report = json.loads(res.out)
    assert report["train_skipped"] == 1
    (bench,) = report["benchmarks"]
    assert bench["skipped"] == 2 and bench["exact"] == 6  # every shared question is still found
    assert "warning: skipped" in res.err and "hostile.jsonl:4" in res.err


def test_train_data_path_refuses_malformed_records(tmp_path, hostile):
    from medzero.errors import DataError
    from medzero.train.dataset import load_questions
    from medzero.train.recipe import DataSection

    with pytest.raises(DataError, match=r"2 malformed record\(s\).*data.skip_bad"):
        load_questions(DataSection(path=str(hostile)))
    assert len(load_questions(DataSection(path=str(hostile), skip_bad=True))) == 6


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--n", "0"], "--n must be >= 1"),
        (["--threshold", "2"], "--threshold"),
        (["--threshold", "-1"], "--threshold"),
    ],
)
def test_overlap_options_are_checked(cli, hostile, args, needle):
    res = cli("data", "overlap", hostile, hostile, "--skip-bad", *args)
    res.clear_error(needle)


# ------------------------------------------------------------------- 8. tracebacks -> clear errors


@pytest.mark.parametrize(
    ("fmt", "needle"),
    [("{bogus}", "unknown field {bogus}"), ("{letter", "expected '}'"), ("{text}", "lacks")],
)
def test_prepare_option_format_is_checked(cli, hostile, tmp_path, fmt, needle):
    (tmp_path / "mix.yaml").write_text(f"- source: sample\n  path: {hostile}\n  count: 4\n")
    res = cli("data", "prepare", "--mix", "mix.yaml", "--out", "prep", "--option-format", fmt)
    res.clear_error("option_format", needle)


def test_eval_compare_n_boot_zero(cli, tmp_path):
    res = cli("eval", "compare", tmp_path, tmp_path, "--n-boot", "0")
    res.clear_error("--n-boot must be >= 1")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--model", "/nonexistent/m"], "--model /nonexistent/m: no such folder"),
        (["--model", "m", "--adapter", "/nonexistent"], "--adapter /nonexistent: no such folder"),
        (["--model", "m", "--device", "tpu:9"], "device must be cpu, cuda, cuda:N or mps"),
        (["--model", "m", "--temperature", "-1"], "temperature must be >= 0"),
        (["--model", "m", "--benchmarks", "sample,sample"], "sample given more than once"),
        (["--model", "."], "--model .: not a saved model folder (no config.json)"),
    ],
    ids=["model", "adapter", "device", "temperature", "benchmarks-twice", "not-a-model"],
)
def test_eval_settings_are_checked_before_loading(cli, tmp_path, args, needle):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{}")  # looks like a model folder; never loaded
    res = cli("eval", *args, "--out", "e")
    res.clear_error(needle)


def test_eval_binary_exclude_ids(cli, tmp_path):
    (tmp_path / "ids.txt").write_bytes(b"\x00\xff\xfe binary \x89PNG")
    from medzero.errors import DataError
    from medzero.evaluate.exclusions import load_exclusions

    with pytest.raises(DataError, match=r"ids\.txt:1: not a text file"):
        load_exclusions(tmp_path / "ids.txt")


def test_analyze_inputs_are_checked(cli, tmp_path):
    (tmp_path / "bin.csv").write_bytes(bytes(range(256)) * 8)
    cli("analyze", "bin.csv", "--out", "r1").clear_error("bin.csv: not a CSV text file")
    (tmp_path / "steps.csv").write_text("Step\n1\n2\n")
    cli("analyze", "steps.csv", "--out", "r2").clear_error("steps.csv:1: no metric columns")
    (tmp_path / "wb.csv").write_text("Step,train/reward\n1,0.5\n2,abc\n")
    cli("analyze", "wb.csv", "--out", "r3", "--letters", "").clear_error("--letters")
    res = cli("analyze", "wb.csv", "--out", "r3", "--no-plots")
    assert res.code == 0, res.text[-2000:]
    assert "wb.csv:3: field \"train/reward\": expected a number, got 'abc'" in res.text


def _run_dir(path: Path, records: list[dict]) -> Path:
    path.mkdir()
    (path / "metrics.jsonl").write_text(
        "".join(json.dumps({"step": s, "reward": 0.5, "completion_length": 10}) + "\n" for s in (1, 2))
    )
    (path / "completions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_analyze_lists_values_that_become_missing(cli, tmp_path):
    base = {"step": 1, "prompt_id": "p", "completion": "<answer>A</answer>", "gold": "A"}
    _run_dir(
        tmp_path / "run",
        [
            {**base, "reward": "high", "completion_tokens": 5},
            {**base, "reward": 1.0, "completion_tokens": -5},
        ],
    )
    res = cli("analyze", "run", "--out", "rep", "--no-plots")
    assert res.code == 0, res.text[-2000:]
    assert "completions.jsonl:1: field \"reward\": expected a number, got 'high'" in res.text
    assert 'completions.jsonl:2: field "completion_tokens": expected a count >= 0' in res.text


# ------------------------------------------------------------------- 10. report.md is escaped


def test_report_md_and_html_escape_completions(cli, tmp_path):
    payloads = ["<script>alert(1)</script>", '<img src=x onerror="alert(2)">']
    records = [
        {"step": s, "prompt_id": f"p{i}", "sample": 0, "completion": f"Wait, {p} <answer>A</answer>",
         "gold": "A", "reward": 1.0, "completion_tokens": 9, "rewards": {"accuracy": 1.0}}
        for s in (1, 2) for i, p in enumerate(payloads)
    ]  # fmt: skip
    _run_dir(tmp_path / "run", records)
    res = cli("analyze", "run", "--out", "rep", "--no-plots")
    assert res.code == 0, res.text[-2000:]
    for name in ("report.md", "report.html"):
        text = (tmp_path / "rep" / name).read_text()
        assert "<script" not in text.lower() and "<img src=x" not in text, name
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "&lt;script&gt;" in md  # shown as text, not dropped


@pytest.mark.slow  # imports torch to ask for the GPU
def test_eval_device_cuda_without_a_gpu(cli, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{}")
    res = cli("eval", "--model", "m", "--device", "cuda", "--out", "e")
    res.clear_error("--device cuda: no CUDA GPU is available here")

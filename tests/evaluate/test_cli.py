"""``medzero eval`` end to end on the tiny local model (hf backend, CPU)."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from medzero.cli import build_app
from medzero.evaluate.benchmarks import SEED_BENCHMARKS


def _eval(*args):
    return CliRunner().invoke(build_app(), ["eval", *map(str, args)])


def test_eval_needs_model_and_out():
    res = _eval("--benchmarks", "sample")
    assert res.exit_code != 0 and "--out and one of --model, --gguf-file or --run are required" in res.output


def test_benchmarks_lists_the_registry():
    from medzero.evaluate.benchmarks import BENCHMARKS

    res = _eval("benchmarks")
    assert res.exit_code == 0
    listed = [line.split("\t")[0] for line in res.stdout.splitlines()]
    assert listed == sorted(BENCHMARKS.names())
    assert {*SEED_BENCHMARKS, "sample", "medxpertqa_mm"} <= set(listed)


def test_eval_on_the_bundled_questions(noisy_model_dir, tmp_path):
    out = tmp_path / "out"
    res = _eval(
        "--model",
        noisy_model_dir,
        "--benchmarks",
        "sample",
        "--limit",
        5,
        "--max-new-tokens",
        8,
        "--batch-size",
        4,
        "--out",
        out,
        "--json",
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    sub = summary["benchmarks"]["sample"]["subsets"][0]
    assert sub["n"] == 5 and set(sub["metrics"]["accuracy"]) == {"strict", "last", "lenient"}
    items = [json.loads(x) for x in (out / "items.jsonl").read_text().splitlines()]
    assert len(items) == 5 and all(0 < r["completion_tokens"] <= 8 for r in items)
    assert json.loads((out / "run.json").read_text())["config"]["backend"] == "hf"


def test_eval_with_samples_reports_pass_and_majority(noisy_model_dir, tmp_path):
    out = tmp_path / "out"
    res = _eval(
        "--model",
        noisy_model_dir,
        "--benchmarks",
        "sample",
        "--limit",
        3,
        "--samples",
        3,
        "--temperature",
        1.0,
        "--max-new-tokens",
        8,
        "--out",
        out,
        "--json",
    )
    assert res.exit_code == 0, res.output
    sub = json.loads(res.stdout)["benchmarks"]["sample"]["subsets"][0]
    assert set(sub["metrics"]) == {"pass@1", "maj@3", "pass@3"}
    items = [json.loads(x) for x in (out / "items.jsonl").read_text().splitlines()]
    assert sorted((r["id"], r["sample"]) for r in items) == sorted(
        (q, s) for q in {r["id"] for r in items} for s in range(3)
    )
    p1, pk = sub["metrics"]["pass@1"]["lenient"]["estimate"], sub["metrics"]["pass@3"]["lenient"]["estimate"]
    assert p1 <= pk


@pytest.mark.slow
def test_eval_on_a_slice_of_each_real_benchmark(noisy_model_dir, shared_data, tmp_path):
    out = tmp_path / "out"
    res = _eval(
        "--model",
        noisy_model_dir,
        "--data-dir",
        shared_data,
        "--limit",
        3,
        "--max-new-tokens",
        8,
        "--batch-size",
        8,
        "--out",
        out,
        "--json",
    )
    assert res.exit_code == 0, res.output
    benches = json.loads(res.stdout)["benchmarks"]
    assert list(benches) == list(SEED_BENCHMARKS)
    for name, b in benches.items():
        assert b["n_questions"] == 3 and b["n_missing"] == 0, name
    assert [s["subset"] for s in benches["gpqa_med"]["subsets"]] == ["all", "distinct questions"]
    assert "official test" in [s["subset"] for s in benches["pubmedqa"]["subsets"]]
    assert any(s["subset"].startswith("medical_task=") for s in benches["medxpertqa"]["subsets"])
    assert "| GPQA Medical | distinct questions |" in (out / "summary.md").read_text()


def _run_cli(model, out):
    cmd = [
        sys.executable,
        "-m",
        "medzero.cli",
        "eval",
        "--model",
        str(model),
        "--benchmarks",
        "sample",
        "--limit",
        "24",
        "--max-new-tokens",
        "12",
        "--batch-size",
        "1",
        "--out",
        str(out),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MEDZERO_NO_PROGRESS": "1"}
    log = (out.parent / f"{out.name}.log").open("a")  # a file, not a pipe nobody reads (it could fill)
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log)


def _items(out):
    rows = [json.loads(x) for x in (out / "items.jsonl").read_text().splitlines()]
    return rows, {(r["id"], r["sample"]): (r["output"], r["correct"]) for r in rows}


@pytest.mark.slow
def test_kill_and_resume_gives_each_item_once_and_the_same_numbers(noisy_model_dir, tmp_path):
    full, killed = tmp_path / "full", tmp_path / "killed"
    assert _run_cli(noisy_model_dir, full).wait(timeout=600) == 0
    proc = _run_cli(noisy_model_dir, killed)
    deadline = time.time() + 300
    while time.time() < deadline:
        lines = (killed / "items.jsonl").read_text().count("\n") if (killed / "items.jsonl").exists() else 0
        if lines >= 8:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n_at_kill = (killed / "items.jsonl").read_text().count("\n")
    rows_full, by_key_full = _items(full)
    assert 8 <= n_at_kill < len(rows_full), "the run finished before it could be killed"
    assert _run_cli(noisy_model_dir, killed).wait(timeout=600) == 0
    rows, by_key = _items(killed)
    assert len(rows) == len(by_key) == len(rows_full)  # each item exactly once
    assert by_key == by_key_full
    s_full = json.loads((full / "summary.json").read_text())["benchmarks"]
    s_killed = json.loads((killed / "summary.json").read_text())["benchmarks"]
    assert s_killed == s_full

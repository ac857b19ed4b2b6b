"""What held under attack and must keep holding (issue 15): kill -9 of eval three times and of
train twice, then resume, gives the same results with each item or step exactly once; bad
benchmark files name file and line; the extractor is linear on 10 MB. (Tags are never executed
and report.html escapes every payload: test_recipes.py and test_bad_input.py.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    return {**os.environ, "MEDZERO_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1", "COLUMNS": "200"}


def _popen(args: list[object], log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "medzero.cli", *map(str, args)]
    return subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=log.open("a"))


def _lines(path: Path) -> int:
    return path.read_text().count("\n") if path.exists() else 0


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 600) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None and not ready():
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_eval_killed_three_times_then_resumed_matches_an_uninterrupted_run(noisy_model_dir, tmp_path):
    # items.jsonl grows a chunk at a time (8 questions x 2 samples = 16 lines at --batch-size 1), so
    # each kill lands on a chunk boundary: 32 questions = 4 chunks leave the third kill before the end.
    args = ["eval", "--model", noisy_model_dir, "--benchmarks", "sample", "--limit", "32", "--samples", "2",
            "--temperature", "0.8", "--max-new-tokens", "12", "--batch-size", "1"]  # fmt: skip
    full, killed = tmp_path / "full", tmp_path / "killed"
    assert _popen([*args, "--out", full], tmp_path / "full.log").wait(timeout=600) == 0
    total = _lines(full / "items.jsonl")
    for kill in (1, 2, 3):
        proc = _popen([*args, "--out", killed], tmp_path / "killed.log")
        seen = _lines(killed / "items.jsonl")
        _kill_when(proc, lambda s=seen: _lines(killed / "items.jsonl") >= s + 2)
        assert _lines(killed / "items.jsonl") < total, f"kill {kill} came too late"
    assert _popen([*args, "--out", killed], tmp_path / "killed.log").wait(timeout=600) == 0

    def items(out: Path) -> dict:
        rows = [json.loads(x) for x in (out / "items.jsonl").read_text().splitlines()]
        by_key = {(r["benchmark"], r["id"], r["sample"]): (r["output"], r["correct"]) for r in rows}
        assert len(by_key) == len(rows), "an item was scored twice"
        return by_key

    assert items(killed) == items(full)
    summary = lambda out: json.loads((out / "summary.json").read_text())["benchmarks"]  # noqa: E731
    assert summary(killed) == summary(full)


def test_train_killed_twice_then_resumed_logs_the_same_steps(tiny_model_dir, tmp_path):
    raw = {
        "model": {"name_or_path": str(tiny_model_dir)},
        "data": {"synthetic": 16},
        "guard": {"action": "off"},
        "grpo": {"num_generations": 2, "per_device_train_batch_size": 4, "max_completion_length": 8,
                 "learning_rate": 1e-3, "gradient_checkpointing": False, "seed": 0, "max_steps": 6,
                 "save_steps": 1},
    }  # fmt: skip
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump(raw))
    full, killed = tmp_path / "full", tmp_path / "killed"
    assert _popen(["train", recipe, "--out", full], tmp_path / "full.log").wait(timeout=900) == 0

    def steps(out: Path) -> list[dict]:
        lines = (out / "metrics.jsonl").read_text().splitlines() if (out / "metrics.jsonl").exists() else []
        return [json.loads(x) for x in lines if x.endswith("}")]

    for kill, at in ((1, 2), (2, 4)):
        flag = ["--resume"] if kill > 1 else []
        proc = _popen(["train", recipe, "--out", killed, *flag], tmp_path / "killed.log")
        _kill_when(proc, lambda a=at: len(steps(killed)) >= a)
    done = _popen(["train", recipe, "--out", killed, "--resume"], tmp_path / "killed.log")
    assert done.wait(timeout=900) == 0, (tmp_path / "killed.log").read_text()[-3000:]
    a, b = steps(full), steps(killed)
    assert [m["step"] for m in b] == list(range(1, 7))  # each step exactly once
    keys = ("loss", "reward", "completion_length")
    assert [{k: m.get(k) for k in keys} for m in b] == [{k: m.get(k) for k in keys} for m in a]


def test_bad_benchmark_file_names_file_and_line_and_a_broken_model_is_a_clear_error(tmp_path):
    from importlib import resources

    good = (resources.files("medzero") / "resources" / "sample_mcq.jsonl").read_text().splitlines()[:3]
    bad = json.loads(good[0])
    bad["answer"] = "Z"
    deep, huge = "[" * 100_000 + "]" * 100_000, '{"n": ' + "9" * 5000 + "}"  # attack item 7, in eval file:
    (tmp_path / "bench.jsonl").write_text("\n".join([*good, json.dumps(bad), "{oops", deep, huge]) + "\n")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text('{"model_type": "no-such-architecture"}')
    cmd = [sys.executable, "-m", "medzero.cli", "eval", "--model", "m", "--benchmarks", "file:bench.jsonl",
           "--out", "e"]  # fmt: skip
    res = subprocess.run(cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300)
    text = res.stdout + res.stderr
    assert res.returncode == 2 and "Traceback" not in text, text[-3000:]
    assert "bench.jsonl:4: field" in text and "bench.jsonl:5: invalid JSON" in text
    assert "bench.jsonl:6: invalid JSON (nested too deeply)" in text and "bench.jsonl:7: invalid JSON" in text
    assert "--model m: cannot be loaded" in text


def test_the_extractor_is_linear_on_10_mb_through_the_cli(tmp_path):
    text = "Iron or not B (A) x\n" * (10_000_000 // 20)  # hedges, negations and option lists
    line = json.dumps({"id": "big", "completion": text, "options": {"A": "Iron", "B": "Zinc"}})
    t0 = time.perf_counter()
    res = subprocess.run(
        [sys.executable, "-m", "medzero.cli", "extract"], input=line + "\n", capture_output=True,
        text=True, timeout=600, env=_env(),
    )  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    assert json.loads(res.stdout)["id"] == "big"
    print(f"10 MB, three modes: {time.perf_counter() - t0:.1f} s")  # a quadratic scan would take hours

"""Interrupted and resumed training through the CLI (issue 15, attack items 5 and 6).

The kill/resume cases are slow (a tiny model trains for a few steps) and kept short."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from medzero.analyze.runlog import load_run
from medzero.train.recipe import recipe_from_dict

PER_STEP = 4


def _recipe(path: Path, model_dir: Path, **grpo) -> Path:
    raw = {
        "model": {"name_or_path": str(model_dir)},
        "data": {"synthetic": 16},
        "rewards": {"accuracy": 1.0, "format": 0.2},
        "guard": {"action": "off"},
        "grpo": {
            "num_generations": 2,
            "per_device_train_batch_size": PER_STEP,
            "max_completion_length": 8,
            "learning_rate": 1e-4,
            "gradient_checkpointing": False,
            "seed": 0,
            **grpo,
        },
    }
    path.write_text(yaml.safe_dump(raw))
    return path


def _steps(path: Path) -> list[int]:
    if not path.exists():
        return []
    return [json.loads(line)["step"] for line in path.read_text().splitlines() if line.endswith("}")]


def test_resume_with_changed_settings_is_refused(cli, tmp_path):
    raw = {"model": {"name_or_path": "tiny"}, "data": {"synthetic": 8}, "rewards": {"accuracy": 1.0}}
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(raw))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.yaml").write_text(recipe_from_dict(raw).to_yaml())
    res = cli(
        "train", "r.yaml", "--out", "run", "--resume", "--set", "rewards.format=0.5", "--set", "data.seed=1"
    )
    res.clear_error("--resume: the recipe differs", "rewards.format: 0.2 -> 0.5", "data.seed: 0 -> 1")
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["data"]["seed"] == 0  # untouched


def _env() -> dict[str, str]:
    return {**os.environ, "MEDZERO_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1", "COLUMNS": "200"}


def _train(*args: object, cwd: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "medzero.cli", "train", *map(str, args)]
    return subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_killed_before_the_first_checkpoint_resumes_from_step_0(tmp_path, tiny_model_dir):
    recipe = _recipe(tmp_path / "r.yaml", tiny_model_dir, max_steps=3, save_steps=100)
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "medzero.cli", "train", str(recipe), "--out", str(out)]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None and not _steps(out / "metrics.jsonl"):
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    os.kill(proc.pid, signal.SIGKILL)  # after step 1, long before checkpoint-100
    proc.wait()
    assert not list(out.glob("checkpoint-*"))
    assert json.loads((out / "run_info.json").read_text())["status"] == "running"  # as the kill left it
    assert load_run(out).run_info["status"] == "interrupted"  # what readers report: nobody holds the lock
    again = _train(recipe, "--out", out, cwd=tmp_path)  # a fresh start is refused, with the way out
    assert again.returncode == 2 and "pass --resume" in again.stderr + again.stdout
    done = _train(recipe, "--out", out, "--resume", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _steps(out / "metrics.jsonl") == [1, 2, 3]  # each step exactly once
    assert Counter(_steps(out / "completions.jsonl")) == dict.fromkeys((1, 2, 3), PER_STEP)
    info = json.loads((out / "run_info.json").read_text())
    assert info["status"] == "finished" and info["resumed_from"] == [{"checkpoint": None, "step": 0}]


@pytest.mark.slow
def test_torn_trainer_state_and_half_written_warmup_are_recovered(tmp_path, tiny_model_dir):
    recipe = _recipe(tmp_path / "r.yaml", tiny_model_dir, max_steps=4, save_steps=2, max_completion_length=26)
    raw = yaml.safe_load(recipe.read_text())
    raw["warmup"] = {"enabled": True, "params": {"steps": 2}}
    recipe.write_text(yaml.safe_dump(raw))
    out = tmp_path / "run"
    first = _train(recipe, "--out", out, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    # what a kill -9 at the wrong moment leaves: a torn trainer state and a torn warm-up weight file
    (out / "checkpoint-4" / "trainer_state.json").write_text('{"global_step": 4, "log_hist')
    weights = out / "warmup" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    done = _train(recipe, "--out", out, "--resume", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert "set aside as incomplete-checkpoint-4" in done.stdout + done.stderr
    assert "format warm-up ->" in done.stdout + done.stderr  # redone, not loaded half-written
    assert _steps(out / "metrics.jsonl") == [1, 2, 3, 4]
    info = json.loads((out / "run_info.json").read_text())
    assert info["resumed_from"][-1] == {"checkpoint": "checkpoint-2", "step": 2}

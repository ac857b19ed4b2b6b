"""Kill -9 a tiny run after a checkpoint, resume it, and find every step logged exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
import yaml

pytestmark = pytest.mark.slow

STEPS, PER_STEP = 6, 4


def write_recipe(path, model_dir):
    path.write_text(
        yaml.safe_dump(
            {
                "model": {"name_or_path": str(model_dir)},
                "data": {"synthetic": 16},
                "rewards": {"accuracy": 1.0, "format": 0.2},
                "guard": {"action": "off"},
                "grpo": {
                    "num_generations": 2,
                    "per_device_train_batch_size": PER_STEP,
                    "max_completion_length": 8,
                    "max_steps": STEPS,
                    "save_steps": 2,
                    "learning_rate": 1e-4,
                    "gradient_checkpointing": False,
                    "seed": 0,
                },
            }
        )
    )


def steps_in(path):
    if not path.exists():
        return []
    return [json.loads(line)["step"] for line in path.read_text().splitlines() if line.endswith("}")]


def medzero(*args):
    return [sys.executable, "-m", "medzero.cli", "train", *map(str, args)]


def test_kill_and_resume_logs_each_step_exactly_once(tiny_model_dir, tmp_path):
    recipe, out = tmp_path / "tiny.yaml", tmp_path / "run"
    write_recipe(recipe, tiny_model_dir)
    env = {
        **os.environ,
        "MEDZERO_NO_PROGRESS": "1",
        "OMP_NUM_THREADS": "1",
    }  # 1 thread: far faster on a busy CPU
    proc = subprocess.Popen(
        medzero(recipe, "--out", out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    # Kill once checkpoint-2 is complete and step 3 has started logging (so there is something to drop).
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        if (out / "checkpoint-2" / "trainer_state.json").exists() and max(
            steps_in(out / "completions.jsonl"), default=0
        ) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, f"run ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = max(steps_in(out / "completions.jsonl"))
    assert killed_at < STEPS

    done = subprocess.run(medzero(recipe, "--out", out, "--resume"), env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout)["step"] == STEPS

    assert steps_in(out / "metrics.jsonl") == list(range(1, STEPS + 1))
    per_step = Counter(steps_in(out / "completions.jsonl"))
    assert per_step == dict.fromkeys(range(1, STEPS + 1), PER_STEP)
    info = json.loads((out / "run_info.json").read_text())
    assert info["status"] == "finished" and info["resumed_from"][0]["step"] >= 2

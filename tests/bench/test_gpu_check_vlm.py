"""bench/gpu_check_vlm.py, the VLM GRPO step of bench/gpu_check.sh: its recipe is a valid
image-question recipe, its summary is the script's (median after step 1), and the command the
shell script runs works on a CPU (the script's GPU_CHECK_ALLOW_CPU smoke switch, ``--cpu``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _args(**kw):
    import argparse

    base = {"steps": 2, "scans": 8, "batch": 4, "ngen": 2, "maxlen": 8, "image_size": 32}
    return argparse.Namespace(**{**base, **kw})


def test_recipe_is_a_valid_training_recipe_on_either_device(tmp_path, load_bench):
    from medzero.train.recipe import recipe_from_dict

    m = load_bench("gpu_check_vlm")
    for cuda in (True, False):
        rec = recipe_from_dict(m.vlm_recipe(tmp_path / "model", tmp_path / "scans.jsonl", _args(), cuda))
        g = rec.grpo
        assert (g["use_cpu"], g["bf16"]) == (not cuda, cuda)
        assert g["max_steps"] == 2 and g["per_device_train_batch_size"] % g["num_generations"] == 0
        assert rec.data.path.endswith("scans.jsonl") and "overlong" in rec.rewards


def test_summary_takes_the_median_after_the_first_step(load_bench):
    m = load_bench("gpu_check_vlm")
    info = {"status": "finished", "global_step": 3}
    rows = [{"step": 1, "step_time": 9.0}, {"step": 2, "step_time": 1.0}, {"step": 3, "step_time": 3.0}]
    assert m.summarize(rows, info, 12.345, 0.5)["step_s_median"] == 2.0
    one = m.summarize(rows[:1], {"status": "finished", "global_step": 1}, 9.0, None)
    assert one["step_s_median"] == 9.0 and one["peak_gib"] is None and one["wall_s_with_loading"] == 9.0


def test_the_shell_script_runs_this_step_with_its_cpu_switch():
    text = (ROOT / "bench" / "gpu_check.sh").read_text()
    assert re.search(
        r'"\$PY" bench/gpu_check_vlm\.py "\$OUT/vlm" --steps "\$\{VLM_STEPS:-2\}" \$\{SMOKE', text
    )
    assert (
        "SMOKE=(--cpu)" in text
        and subprocess.run(["bash", "-n", str(ROOT / "bench" / "gpu_check.sh")]).returncode == 0
    )


@pytest.mark.slow
def test_two_vlm_grpo_steps_on_cpu_as_the_script_runs_them(tmp_path):
    """The script's command line with its smoke switch: tiny VLM built by the CLI, 2 GRPO steps."""
    env = {**os.environ, "VLM_SCANS": "8", "VLM_BATCH": "4", "VLM_NGEN": "2", "VLM_MAXLEN": "8"}
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    out = tmp_path / "vlm"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gpu_check_vlm.py"), str(out), "--steps", "2", "--cpu"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    res = json.loads((out / "gpu_check_vlm.json").read_text())
    t = res["train"]
    assert res["device"] == "cpu" and t["status"] == "finished" and t["steps"] == 2
    assert t["step_s_median"] > 0 and t["peak_gib"] is None and res["image_tokens_per_completion"] == 16
    assert "| VLM GRPO (2 steps x 4 completions" in done.stdout

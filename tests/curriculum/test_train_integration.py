"""`medzero train` with `curriculum:` and `dynamic_sampling:` on the tiny model (real GRPOTrainer)."""

from __future__ import annotations

import json

import pytest

from medzero.data.synthetic import drug_class_questions
from medzero.errors import ConfigError
from medzero.jsonl import iter_jsonl, write_jsonl

BINS = ["easy", "medium", "hard", "unsolved"]


def graded_file(tmp_path, bins=BINS):
    """Synthetic questions with grades in meta, as `medzero data grade` leaves them."""
    rate = {"easy": 0.9, "medium": 0.5, "hard": 0.1, "unsolved": 0.0}
    rows = []
    for i, m in enumerate(drug_class_questions(16, seed=0, split="train")):
        d = m.to_dict()
        b = bins[i % len(bins)]
        d["meta"] = {**d["meta"], "difficulty": b, "pass_rate": rate[b]}
        rows.append(d)
    path = tmp_path / "graded.jsonl"
    write_jsonl(path, rows)
    return path, {r["id"]: r["meta"]["difficulty"] for r in rows}


def recipe(tmp_path, model_dir, bins=BINS, **sections):
    from medzero.train.recipe import recipe_from_dict

    path, _ = graded_file(tmp_path, bins)
    raw = {
        "model": {"name_or_path": str(model_dir), "dtype": "float32"},
        "data": {"path": str(path)},
        "rewards": {"accuracy": 1.0, "format": 0.2},
        "grpo": {
            "num_generations": 4,
            "per_device_train_batch_size": 8,
            "max_completion_length": 8,
            "max_steps": 2,
            "gradient_checkpointing": False,
            "bf16": False,
            "use_cpu": True,
            "save_strategy": "no",
            "seed": 0,
        },
        **sections,
    }
    return recipe_from_dict(raw, source="test.yaml")


@pytest.mark.slow
def test_train_with_curriculum_and_dynamic_sampling(tmp_path, tiny_model_dir):
    from medzero.train.runner import train

    r = recipe(
        tmp_path,
        tiny_model_dir,
        curriculum={"order": "easy_to_hard", "ratios": {"easy": 1, "medium": 1}, "drop": ["unsolved"]},
        dynamic_sampling={"filter": "mask"},
    )
    out = tmp_path / "run"
    info = train(r, out, progress=False)
    assert info["status"] == "finished" and info["global_step"] == 2
    metrics = [m for _, m in iter_jsonl(out / "metrics.jsonl") if "loss" in m]
    assert len(metrics) == 2
    assert all("curriculum/filtered_groups" in m and "curriculum/online_easy" in m for m in metrics)
    _, bins = graded_file(tmp_path)
    seen = [c["prompt_id"] for _, c in iter_jsonl(out / "completions.jsonl")]
    assert {bins[i] for i in seen} == {"easy", "medium"}  # ratios 1:1, nothing from dropped bins
    assert json.loads((out / "run_info.json").read_text())["status"] == "finished"


def test_recipe_asking_for_a_missing_bin_stops_before_the_model_loads(tmp_path, tiny_model_dir, monkeypatch):
    from medzero.train import runner

    def no_loading(*args, **kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(runner, "load_model", no_loading)
    monkeypatch.setattr(runner, "run_warmup", no_loading)
    r = recipe(
        tmp_path, tiny_model_dir, bins=["easy", "medium"], curriculum={"ratios": {"easy": 1, "hard": 1}}
    )
    with pytest.raises(ConfigError, match='asks for bin "hard", but the training dataset has no kept hard'):
        runner.train(r, tmp_path / "run", progress=False)


def test_recipe_sections_are_checked_while_reading(tmp_path, tiny_model_dir):
    with pytest.raises(ConfigError, match=r'test\.yaml: curriculum\.order: "hardest_first"'):
        recipe(tmp_path, tiny_model_dir, curriculum={"order": "hardest_first"})
    with pytest.raises(ConfigError, match=r'test\.yaml: dynamic_sampling: unknown key "filtr"'):
        recipe(tmp_path, tiny_model_dir, dynamic_sampling={"filtr": "mask"})


@pytest.mark.slow
def test_two_cpu_processes_see_whole_groups_from_the_curriculum(tmp_path, tiny_model_dir):
    """accelerate launch, 2 processes; 3 prompts x 2 completions per step, so one group spans both
    ranks: resampled prompts and the curriculum order must agree across ranks to keep groups whole."""
    import os
    import shutil
    import subprocess
    import sys
    from collections import Counter
    from pathlib import Path

    import yaml

    path, bins = graded_file(tmp_path)
    recipe_path, out = tmp_path / "r.yaml", tmp_path / "run"
    recipe_path.write_text(
        yaml.safe_dump(
            {
                "model": {"name_or_path": str(tiny_model_dir)},
                "data": {"path": str(path)},
                "rewards": {"accuracy": 1.0, "format": 0.2},
                "curriculum": {"ratios": {"easy": 1, "medium": 2}, "drop": ["unsolved"]},
                "dynamic_sampling": {"filter": "resample", "max_resample_rounds": 1},
                "grpo": {
                    "num_generations": 2,
                    "per_device_train_batch_size": 3,
                    "max_completion_length": 8,
                    "max_steps": 2,
                    "save_strategy": "no",
                    "gradient_checkpointing": False,
                    "seed": 0,
                },
            }
        )
    )
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent))
    cmd = [accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1"]
    cmd += ["--mixed_precision", "no", "--dynamo_backend", "no"]
    cmd += ["-m", "medzero.cli", "train", str(recipe_path), "--out", str(out)]
    env = {**os.environ, "MEDZERO_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    rows = [c for _, c in iter_jsonl(out / "completions.jsonl")]
    for step in (1, 2):
        per_prompt = Counter(c["prompt_id"] for c in rows if c["step"] == step)
        assert len(per_prompt) == 3 and set(per_prompt.values()) == {2}, per_prompt  # whole groups
        assert {c["rank"] for c in rows if c["step"] == step} == {0, 1}
    assert {bins[c["prompt_id"]] for c in rows} <= {"easy", "medium"}

"""Validation + RUN_DIR/best end to end: through `medzero train` on the tiny recipe (with a resume),
with a LoRA adapter, and in two processes (rank 0 writes, nobody waits forever)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "MEDZERO_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1"}


def write_heldout(path: Path, n: int) -> None:
    from medzero.data.synthetic import drug_class_questions

    rows = [
        {"id": q.id, "source": q.source, "question": q.question, "options": q.options, "answer": q.answer}
        for q in drug_class_questions(n, seed=0, split="heldout")
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_tiny_recipe_validates_keeps_best_and_resumes_without_duplicates(tiny_model_dir, tmp_path):
    held, out = tmp_path / "held.jsonl", tmp_path / "run"
    write_heldout(held, 16)
    cmd = [sys.executable, "-m", "medzero.cli", "train", str(REPO / "recipes" / "tiny-cpu.yaml")]
    cmd += ["--set", f"model.name_or_path={tiny_model_dir}", "--set", "data.synthetic=32"]
    cmd += ["--set", "warmup.params.steps=10", "--set", "warmup.params.max_steps=0"]
    cmd += ["--set", "grpo.per_device_train_batch_size=32"]
    cmd += ["--set", "grpo.max_steps=4", "--set", "grpo.save_steps=2"]
    cmd += ["--set", f"validation.benchmark=file:{held}", "--set", "validation.every=2"]
    cmd += ["--out", str(out)]
    done = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "validation step 2: strict" in done.stdout + done.stderr
    evals = [r for r in lines(out / "metrics.jsonl") if "eval/strict" in r]
    assert [(r["step"], r["eval/n"]) for r in evals] == [(2, 16), (4, 16)]
    best = json.loads((out / "best" / "best.json").read_text())
    top = max(evals, key=lambda r: (r["eval/strict"], -r["step"]))  # ties: the earliest step
    assert (best["step"], best["score"]) == (top["step"], top["eval/strict"])
    assert (out / "best" / "model.safetensors").is_file() and (out / "final" / "model.safetensors").is_file()
    assert "[None]" not in (out / "final" / "README.md").read_text()
    first = (out / "metrics.jsonl").read_text()

    # killed after step 4 was validated but before checkpoint-4 was written: resume from step 2
    shutil.rmtree(out / "checkpoint-4")
    shutil.rmtree(out / "final")
    done = subprocess.run([*cmd, "--resume"], env=ENV, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    evals_again = [r for r in lines(out / "metrics.jsonl") if "eval/strict" in r]
    assert [r["step"] for r in evals_again] == [2, 4]  # each validation exactly once
    assert Counter(r["step"] for r in lines(out / "validation.jsonl")) == {2: 16, 4: 16}
    assert json.loads((out / "best" / "best.json").read_text())["step"] == best["step"]  # best survived
    assert (out / "metrics.jsonl").read_text().count('"eval/strict"') == first.count('"eval/strict"')


def test_lora_run_saves_the_best_adapter(tiny_model_dir, tmp_path):
    from medzero.train.recipe import recipe_from_dict
    from medzero.train.runner import train

    held = tmp_path / "held.jsonl"
    write_heldout(held, 4)
    recipe = recipe_from_dict(
        {
            "model": {"name_or_path": str(tiny_model_dir), "dtype": "float32"},
            "peft": {"enabled": True, "r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"]},
            "data": {"synthetic": 8},
            "rewards": {"accuracy": 1.0, "format": 0.2},
            "guard": {"action": "off"},
            "validation": {"benchmark": f"file:{held}", "every": 1, "at_start": True},
            "grpo": {
                "num_generations": 2,
                "per_device_train_batch_size": 4,
                "max_completion_length": 8,
                "max_steps": 1,
                "gradient_checkpointing": False,
                "save_steps": 1,
                "seed": 0,
            },
        }
    )
    out = tmp_path / "run"
    info = train(recipe, out, progress=False)
    assert info["best"]["step"] == 0  # nothing beats the start at 1 step: ties keep the earliest
    best = out / "best"
    assert (best / "adapter_config.json").is_file() and (best / "adapter_model.safetensors").is_file()
    assert not (best / "model.safetensors").exists()  # the adapter, as final/ holds
    assert "library_name: peft" in (best / "README.md").read_text()
    evals = [r["step"] for r in lines(out / "metrics.jsonl") if "eval/strict" in r]
    assert evals == [0, 1]


def test_two_processes_validate_once_and_agree_on_best(tiny_model_dir, tmp_path):
    held, recipe, out = tmp_path / "held.jsonl", tmp_path / "tiny.yaml", tmp_path / "run"
    write_heldout(held, 5)  # odd: the two processes score 3 and 2 questions
    recipe.write_text(
        yaml.safe_dump(
            {
                "model": {"name_or_path": str(tiny_model_dir)},
                "data": {"synthetic": 16},
                "rewards": {"accuracy": 1.0, "format": 0.2},
                "validation": {"benchmark": f"file:{held}", "every": 1},
                "grpo": {
                    "num_generations": 2,
                    "per_device_train_batch_size": 4,
                    "max_completion_length": 8,
                    "max_steps": 2,
                    "save_steps": 2,
                    "learning_rate": 1e-4,
                    "gradient_checkpointing": False,
                    "seed": 0,
                },
            }
        )
    )
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent))
    cmd = [accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1"]
    cmd += ["--mixed_precision", "no", "--dynamo_backend", "no"]
    cmd += ["-m", "medzero.cli", "train", str(recipe), "--out", str(out)]
    done = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    evals = [r for r in lines(out / "metrics.jsonl") if "eval/strict" in r]
    assert [(r["step"], r["eval/n"]) for r in evals] == [(1, 5), (2, 5)]  # rank 0 alone writes
    items = lines(out / "validation.jsonl")
    assert sorted(Counter(r["step"] for r in items).items()) == [(1, 5), (2, 5)]
    assert len({(r["step"], r["id"]) for r in items}) == 10  # every question once per validation
    top = max(evals, key=lambda r: (r["eval/strict"], -r["step"]))
    assert json.loads((out / "best" / "best.json").read_text())["step"] == top["step"]
    assert not (out / "best.tmp").exists() and not (out / "best.old").exists()

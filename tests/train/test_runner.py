"""A real (tiny) GRPO run through medzero's runner: the run directory holds what docs/run-format.md says."""

from __future__ import annotations

import json

import pytest

from medzero.errors import ConfigError
from medzero.train.dataset import build_rows, load_questions
from medzero.train.preflight import load_tokenizer
from medzero.train.recipe import recipe_from_dict
from medzero.train.runner import train

COMPLETION_KEYS = {
    "step", "prompt_id", "sample", "completion", "completion_tokens", "truncated",
    "rewards", "reward", "advantage", "gold", "rank",
}  # fmt: skip


def tiny_recipe(model_dir, **grpo):
    return recipe_from_dict(
        {
            "model": {"name_or_path": str(model_dir)},
            "data": {"synthetic": 8},
            "rewards": {"accuracy": 1.0, "format": 0.2},
            "guard": {"action": "off"},
            "grpo": {
                "num_generations": 2,
                "per_device_train_batch_size": 4,
                "max_completion_length": 8,
                "max_steps": 2,
                "learning_rate": 1e-4,
                "gradient_checkpointing": False,
                "save_steps": 2,
                "seed": 0,
                **grpo,
            },
        }
    )


def read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_tiny_run_writes_the_run_directory(tiny_model_dir, tmp_path):
    out = tmp_path / "run"
    info = train(tiny_recipe(tiny_model_dir), out, progress=False)
    assert info["status"] == "finished" and info["global_step"] == 2

    metrics = read(out / "metrics.jsonl")
    assert [m["step"] for m in metrics] == [1, 2]
    for key in (
        "loss",
        "reward",
        "rewards/accuracy/mean",
        "rewards/format/mean",
        "completions/clipped_ratio",
    ):
        assert key in metrics[0], key

    comps = read(out / "completions.jsonl")
    assert len(comps) == 2 * 4  # steps x completions per step
    assert all(set(c) == COMPLETION_KEYS for c in comps)
    assert [c["sample"] for c in comps[:4]] == [0, 1, 0, 1]
    assert comps[0]["prompt_id"] == comps[1]["prompt_id"] != comps[2]["prompt_id"]
    assert all(0 < c["completion_tokens"] <= 8 and set(c["rewards"]) == {"accuracy", "format"} for c in comps)
    # the truncation flag agrees with TRL's clipped ratio for step 1
    assert sum(c["truncated"] for c in comps[:4]) / 4 == pytest.approx(
        metrics[0]["completions/clipped_ratio"]
    )

    run_info = json.loads((out / "run_info.json").read_text())
    assert run_info["reward_weights"] == {"accuracy": 1.0, "format": 0.2} and run_info["world_size"] == 1
    assert "accuracy: 1.0" in (out / "config.yaml").read_text()
    assert (out / "checkpoint-2").is_dir() and (out / "final" / "config.json").is_file()

    with pytest.raises(ConfigError, match="already holds a training run"):
        train(tiny_recipe(tiny_model_dir), out, progress=False)


def test_fatal_check_stops_before_loading(tiny_model_dir, tmp_path):
    with pytest.raises(ConfigError, match="fatal check"):
        train(tiny_recipe(tiny_model_dir, num_generations=3), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_prompt_cap_drops_or_truncates_and_reports(tiny_model_dir):
    rec = tiny_recipe(tiny_model_dir)
    tok = load_tokenizer(str(tiny_model_dir), rec)
    questions = load_questions(rec.data)
    _, full = build_rows(questions, rec.data, tok)
    cap = full.max_tokens - 5
    rec.data.prompt_max_tokens = cap
    rows, dropped = build_rows(questions, rec.data, tok)
    assert dropped.dropped >= 1 and len(rows) == len(questions) - dropped.dropped
    rec.data.prompt_overflow = "truncate"
    rows, cut = build_rows(questions, rec.data, tok)
    assert cut.dropped == 0 and cut.truncated == dropped.dropped and cut.max_tokens <= cap
    assert "truncated" in cut.describe()


def test_seed_settings_run_on_the_tiny_model(tiny_model_dir, tmp_path):
    """The seed-exact ingredients together: preset rewards, seed template, left-cut text prompts,
    a reference model (beta 0.04), bnpo, temperature 0.9."""
    rec = recipe_from_dict(
        {
            "model": {"name_or_path": str(tiny_model_dir)},
            "data": {
                "synthetic": 8,
                "prompt": {"template": "seed"},
                "prompt_max_tokens": 60,
                "prompt_overflow": "truncate_left",
            },
            "rewards": "seed",
            "guard": {"action": "off"},
            "grpo": {
                "num_generations": 2,
                "per_device_train_batch_size": 4,
                "max_completion_length": 8,
                "max_steps": 1,
                "gradient_checkpointing": False,
                "beta": 0.04,
                "temperature": 0.9,
                "loss_type": "bnpo",
                "seed": 0,
            },
        }
    )
    out = tmp_path / "run"
    assert train(rec, out, progress=False)["status"] == "finished"
    (metrics,) = read(out / "metrics.jsonl")
    assert {
        "rewards/seed_accuracy/mean",
        "rewards/seed_format/mean",
        "rewards/seed_xmlcount/mean",
        "kl",
    } <= set(metrics)
    run_info = json.loads((out / "run_info.json").read_text())
    assert run_info["prompt_cap"]["truncated"] == 8 and run_info["prompt_cap"]["max_tokens"] <= 60
    comps = read(out / "completions.jsonl")
    assert all(set(c["rewards"]) == {"seed_accuracy", "seed_format", "seed_xmlcount"} for c in comps)

"""`medzero train --check`: findings on stderr, JSON on stdout, exit 2 on a fatal finding or a bad key;
`--print-config`: the resolved settings as JSON, without loading a model."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from medzero.cli import main


def run(argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return exc.value.code or 0


@pytest.fixture
def recipe(tiny_model_dir, tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "model": {"name_or_path": str(tiny_model_dir)},
                "data": {"synthetic": 8},
                "rewards": {"accuracy": 1.0, "format": 0.2},
                "grpo": {"num_generations": 2, "per_device_train_batch_size": 4},
            }
        )
    )
    return path


def test_check_passes_and_prints_json(recipe, capsys):
    assert run(["train", str(recipe), "--check"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is True and "8 of 8 questions kept" in out["prompts"]


def test_check_fails_on_a_fatal_finding(recipe, capsys):
    assert run(["train", str(recipe), "--check", "--set", "grpo.num_generations=3"]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out)["ok"] is False
    assert "multiple of 3" in " ".join(captured.err.split())  # rich wraps long lines


def test_unknown_key_exits_2_with_a_suggestion(recipe, capsys):
    assert run(["train", str(recipe), "--check", "--set", "grpo.learnig_rate=1e-5"]) == 2
    assert 'Did you mean "grpo.learning_rate"' in " ".join(capsys.readouterr().err.split())


SEED_EXACT = Path(__file__).resolve().parents[2] / "recipes" / "seed-exact-huatuo-o1-7b-dataset2.yaml"


def test_print_config_contract_for_the_seed_exact_recipe(capsys, monkeypatch):
    import medzero.train.runner as runner

    def no_model(*a, **k):
        raise AssertionError("--print-config must not load a model")

    monkeypatch.setattr(runner, "load_model", no_model)
    assert run(["train", str(SEED_EXACT), "--print-config"]) == 0
    out = json.loads(capsys.readouterr().out)
    g = out["grpo"]
    assert (g["beta"], g["temperature"], g["loss_type"]) == (0.04, 0.9, "bnpo")
    assert (g["num_generations"], g["max_completion_length"], g["learning_rate"]) == (3, 8192, 2e-05)
    assert {r["name"]: r["weight"] for r in out["rewards"]} == {
        "seed_accuracy": 1.0,
        "seed_format": 1.0,
        "seed_xmlcount": 1.0,
    }
    assert g["reward_weights"] == [1.0, 1.0, 1.0]
    # every GRPOConfig field TRL receives is there, not only the recipe's
    from trl import GRPOConfig

    assert {f.name for f in dataclasses.fields(GRPOConfig) if f.init} <= set(g)
    assert out["prompt"]["template"] == "seed" and "sinceraly.The reasoning" in out["prompt"]["system_prompt"]
    assert out["data"]["prompt_overflow"] == "truncate_left" and out["data"]["prompt_max_tokens"] == 1024
    assert g["save_strategy"] == "epoch" and g["logging_steps"] == 5 and g["vllm_mode"] == "server"


def test_print_config_of_a_local_recipe(recipe, capsys):
    assert run(["train", str(recipe), "--print-config", "--set", "reward_params.format.variant=soft"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rewards"][1] == {
        "name": "format",
        "weight": 0.2,
        "params": {"variant": "soft", "think_preopened": False},
    }
    assert out["grpo"]["num_generations"] == 2 and out["grpo"]["logging_steps"] == 1  # medzero's default
    assert out["prompt"]["template"] == "r1zero" and out["notes"]  # think_preopened is decided later

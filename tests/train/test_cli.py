"""`medzero train --check`: findings on stderr, JSON on stdout, exit 2 on a fatal finding or a bad key."""

from __future__ import annotations

import json

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

"""The run directory across interruptions: recipe changes on --resume, torn checkpoints, restart
from step 0, half-written model folders (issue 15: Training; attack items 5 and 6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medzero.errors import ConfigError
from medzero.outdir import atomic_dir
from medzero.train.recipe import recipe_from_dict
from medzero.train.rundir import (
    CONFIG_FILE,
    check_resume_recipe,
    last_checkpoint,
    model_dir_complete,
    prepare_run_dir,
    recipe_changes,
)

BASE = {"model": {"name_or_path": "tiny"}, "data": {"synthetic": 8}}


def _recipe(**sections) -> object:
    raw = json.loads(json.dumps(BASE))
    for name, value in sections.items():
        raw[name] = value
    return recipe_from_dict(raw)


def _run(tmp_path: Path, recipe) -> Path:
    out = tmp_path / "run"
    out.mkdir()
    (out / CONFIG_FILE).write_text(recipe.to_yaml())
    return out


def test_changes_that_alter_the_run_are_refused_naming_every_key(tmp_path):
    out = _run(tmp_path, _recipe(rewards={"accuracy": 1.0, "format": 0.2}))
    new = _recipe(rewards={"accuracy": 1.0, "format": 0.5}, data={"synthetic": 8, "seed": 3})
    with pytest.raises(ConfigError) as err:
        check_resume_recipe(out, new)
    msg = str(err.value)
    assert "rewards.format: 0.2 -> 0.5" in msg and "data.seed: 0 -> 3" in msg and "--out" in msg


def test_grpo_settings_learning_rate_and_num_generations_are_refused():
    old = _recipe().to_dict()
    allowed, refused = recipe_changes(old, _recipe(grpo={"learning_rate": 1e-3, "num_generations": 4}))
    assert set(refused) == {"grpo.learning_rate", "grpo.num_generations"} and not allowed


def test_more_steps_and_logging_changes_are_allowed_fewer_steps_are_not():
    old = _recipe(grpo={"max_steps": 10, "save_steps": 5}).to_dict()
    allowed, refused = recipe_changes(
        old, _recipe(grpo={"max_steps": 20, "save_steps": 2}, guard={"action": "off"})
    )
    assert set(allowed) == {"grpo.max_steps", "grpo.save_steps", "guard.action"} and not refused
    _, refused = recipe_changes(old, _recipe(grpo={"max_steps": 5, "save_steps": 5}))
    assert refused == {"grpo.max_steps": (10, 5)}


def test_file_names_agree_with_the_callbacks():
    from medzero.train import callbacks, rundir

    assert (rundir.METRICS_FILE, rundir.COMPLETIONS_FILE) == (
        callbacks.METRICS_FILE,
        callbacks.COMPLETIONS_FILE,
    )


def test_a_key_added_by_a_later_medzero_counts_as_its_default():
    old = _recipe().to_dict()
    del old["data"]["skip_bad"]
    assert recipe_changes(old, _recipe()) == ({}, {})


def test_resume_before_the_first_checkpoint_starts_again_from_step_0(tmp_path):
    out = _run(tmp_path, _recipe())
    (out / "metrics.jsonl").write_text('{"step": 1}\n')
    with pytest.raises(ConfigError, match="already holds a training run: pass --resume"):
        prepare_run_dir(out, resume=False)
    assert prepare_run_dir(out, resume=True) == (None, 0)
    assert (out / "metrics.jsonl").read_text() == ""  # steps of the lost attempt are not kept twice
    with pytest.raises(ConfigError, match="holds no training run"):
        prepare_run_dir(tmp_path / "empty", resume=True)


def test_a_torn_trainer_state_falls_back_to_the_previous_checkpoint(tmp_path):
    for step in (2, 4):
        (tmp_path / f"checkpoint-{step}").mkdir()
        (tmp_path / f"checkpoint-{step}" / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    (tmp_path / "checkpoint-4" / "trainer_state.json").write_text('{"global_step": 4, "log_hi')
    ckpt, step = last_checkpoint(tmp_path)
    assert (ckpt.name, step) == ("checkpoint-2", 2)
    assert (tmp_path / "incomplete-checkpoint-4").is_dir()  # kept, out of the way


def test_model_dir_complete_sees_torn_weights(tmp_path, tiny_model_dir):
    import shutil

    model = tmp_path / "m"
    shutil.copytree(tiny_model_dir, model)
    assert model_dir_complete(model)
    weights = model / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    assert not model_dir_complete(model)
    assert not model_dir_complete(tmp_path / "missing")


def test_atomic_dir_leaves_nothing_half_written(tmp_path):
    target = tmp_path / "warmup"
    with pytest.raises(KeyboardInterrupt), atomic_dir(target) as tmp:
        (tmp / "config.json").write_text("{}")
        raise KeyboardInterrupt  # a kill in the middle
    assert not target.exists() and not (tmp_path / "warmup.partial").exists()
    (tmp_path / "warmup.partial").mkdir()  # left by a kill -9
    with atomic_dir(target) as tmp:
        (tmp / "config.json").write_text("{}")
    assert (target / "config.json").is_file() and not (tmp_path / "warmup.partial").exists()

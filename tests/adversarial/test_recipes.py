"""Recipes and ``--set`` values that used to pass or crash (issue 15: attack items 2, 8, 9; Training)."""

from __future__ import annotations

from pathlib import Path

import pytest

from medzero.errors import ConfigError
from medzero.train.recipe import load_recipe

GOOD = """\
model:
  name_or_path: tiny
data:
  synthetic: 16
grpo:
  max_steps: 2
"""


def _recipe(tmp_path: Path, text: str, name: str = "r.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_an_alias_bomb_is_refused_at_load(tmp_path, cli):
    text = GOOD + '  report_to: &x0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i in range(1, 10):
        text += f"  run_name: &x{i} [" + ",".join([f"*x{i - 1}"] * 9) + "]\n"
    res = cli("train", _recipe(tmp_path, text), "--check", timeout=60)
    res.clear_error("r.yaml:7", "anchor &x0 is not allowed")


def test_an_alias_in_a_set_value_is_refused(tmp_path, cli):
    res = cli("train", _recipe(tmp_path, GOOD), "--set", "grpo.report_to=[&a x, *a]", "--check")
    res.clear_error('--set "grpo.report_to=[&a x, *a]"', "not allowed")


@pytest.mark.parametrize(
    "value",
    ["[unclosed", "!!python/object/apply:os.system ['touch pwned']", "{a: 1, a: 2}"],
    ids=["bad-yaml", "python-tag", "duplicate-key"],
)
def test_bad_set_values_are_clear_errors(tmp_path, cli, value):
    res = cli("train", _recipe(tmp_path, GOOD), "--set", f"grpo.run_name={value}", "--check")
    res.clear_error("--set", "invalid YAML")
    assert not (tmp_path / "pwned").exists()


def test_python_tags_in_a_recipe_never_run(tmp_path, cli):
    text = GOOD + "  run_name: !!python/object/apply:os.system ['touch pwned']\n"
    res = cli("train", _recipe(tmp_path, text), "--check")
    res.clear_error("r.yaml:7", "tag !!python/object/apply:os.system is not allowed")
    assert not (tmp_path / "pwned").exists()


def test_a_recipe_that_is_not_utf8(tmp_path, cli):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(GOOD.encode() + "  run_name: caf\xe9\n".encode("latin-1"))
    res = cli("train", path, "--check")
    res.clear_error("latin1.yaml:7", "not UTF-8")


def test_a_duplicate_top_level_key(tmp_path, cli):
    res = cli("train", _recipe(tmp_path, GOOD + "model:\n  name_or_path: other\n"), "--check")
    res.clear_error("r.yaml:7", 'duplicate key "model"')


@pytest.mark.parametrize(
    ("extra", "needles"),
    [
        ("  learning_rate: .nan\n", ("r.yaml:7", '"grpo.learning_rate" is nan')),
        ("  learning_rate: -.inf\n", ("r.yaml:7", "finite")),
        pytest.param(  # grpo keys are checked against TRL's GRPOConfig: imports TRL
            "  num_train_epochs: 0\n", ("r.yaml:7", '"grpo.num_train_epochs" is 0'), marks=pytest.mark.slow
        ),
        ("peft:\n  target_modules: [[q_proj], v_proj]\n", ("r.yaml:8", '"peft.target_modules"')),
        ("  reward_weights: [1.0, 0.2]\n", ("r.yaml:7", "rewards:")),
    ],
    ids=["nan-lr", "inf-lr", "zero-epochs", "nested-target-modules", "grpo-reward-weights"],
)
def test_unchecked_settings_are_checked(tmp_path, cli, extra, needles):
    res = cli("train", _recipe(tmp_path, GOOD + extra), "--check")
    res.clear_error(*needles)


@pytest.mark.slow  # imports TRL
def test_negative_max_steps(tmp_path, cli):
    res = cli("train", _recipe(tmp_path, GOOD.replace("max_steps: 2", "max_steps: -5")), "--check")
    res.clear_error("r.yaml:6", '"grpo.max_steps" is -5')


@pytest.mark.slow  # imports TRL
def test_a_missing_local_model_fails_the_check(tmp_path, cli):
    text = GOOD.replace("name_or_path: tiny", "name_or_path: /nonexistent/model")
    res = cli("train", _recipe(tmp_path, text), "--check", timeout=120)
    res.clear_error("/nonexistent/model", "no such folder")


# ------------------------------------------------------------- in-process (the same rules, fast)


def test_set_keeps_number_like_text_for_string_fields(tmp_path):
    path = _recipe(tmp_path, GOOD)
    rec = load_recipe(path, ["model.revision=20240101", "grpo.learning_rate=1e-5"])
    assert rec.model.revision == "20240101"  # a string field gets the text as typed
    assert rec.grpo["learning_rate"] == 1e-5  # numbers stay numbers
    rec = load_recipe(path, ["model.revision=1e5"])
    assert rec.model.revision == "1e5"
    rec = load_recipe(_recipe(tmp_path, GOOD.replace("tiny", "tiny\n  revision: 20240101"), "f.yaml"))
    assert rec.model.revision == "20240101"


def test_reward_weights_in_grpo_points_to_rewards(tmp_path):
    with pytest.raises(ConfigError, match=r"rewards: \{accuracy"):
        load_recipe(_recipe(tmp_path, GOOD), ["grpo.reward_weights=[1.0]"])


def test_ranges_of_sections(tmp_path):
    for override, needle in [
        ("peft.r=0", '"peft.r" is 0'),
        ("peft.lora_dropout=1.5", '"peft.lora_dropout"'),
        ("guard.threshold=0", '"guard.threshold"'),
        ("data.synthetic=0", '"data.synthetic" is 0'),
    ]:
        with pytest.raises(ConfigError, match=needle):
            load_recipe(_recipe(tmp_path, GOOD), [override])
    assert load_recipe(_recipe(tmp_path, GOOD), ["grpo.max_steps=-1"]).grpo["max_steps"] == -1

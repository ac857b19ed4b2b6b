"""``medzero eval --run RUN_DIR``: the run's model and prompt settings (a fake run folder holding
the tiny model; no training needed)."""

import json
import shutil

import pytest
import yaml
from typer.testing import CliRunner

from medzero.cli import build_app
from medzero.errors import ConfigError
from medzero.evaluate.fromrun import recipe_prompt, run_settings
from medzero.train.recipe import load_recipe


@pytest.fixture
def run_dir(tmp_path, noisy_model_dir):
    """A run folder as `medzero train` leaves it: config.yaml, run_info.json, final/, best/."""
    run = tmp_path / "run"
    run.mkdir()
    raw = yaml.safe_load(load_recipe("recipes/tiny-cpu.yaml").to_yaml())
    raw["data"]["prompt"]["system_role"] = "user"  # a Gemma-style recipe
    raw["grpo"]["max_completion_length"] = 7
    (run / "config.yaml").write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    (run / "run_info.json").write_text(json.dumps({"think_preopened": False, "model_path": "unused"}))
    for name in ("final", "best", "checkpoint-50"):
        shutil.copytree(noisy_model_dir, run / name)
    return run


def test_run_settings_take_the_best_model_and_the_whole_prompt(run_dir):
    s = run_settings(run_dir)
    assert s.checkpoint == "best" and s.model == str(run_dir / "best") and s.adapter is None
    assert s.prompt.template == "r1zero-short" and s.prompt.system_role == "user"
    assert s.max_new_tokens == 7 and s.dtype == "float32"
    assert run_settings(run_dir, "final").model == str(run_dir / "final")
    assert run_settings(run_dir, "50").model == str(run_dir / "checkpoint-50")
    shutil.rmtree(run_dir / "best")
    assert run_settings(run_dir).checkpoint == "final"  # no best: final
    with pytest.raises(
        ConfigError, match=r"checkpoint-9: no such checkpoint.*available: checkpoint-50, final"
    ):
        run_settings(run_dir, "9")
    with pytest.raises(ConfigError, match="not a training run folder"):
        run_settings(run_dir / "final")


def test_eval_run_evaluates_with_the_runs_settings(run_dir, tmp_path):
    out = tmp_path / "ev"
    res = CliRunner().invoke(
        build_app(),
        ["eval", "--run", str(run_dir), "--benchmarks", "sample", "--limit", "3", "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    run = json.loads((out / "run.json").read_text())
    cfg = run["config"]
    assert cfg["model"] == str(run_dir / "best") and cfg["max_new_tokens"] == 7 and cfg["dtype"] == "float32"
    assert cfg["prompt"]["system_role"] == "user" and cfg["prompt"]["template"] == "r1zero-short"
    assert run["context"]["length"] > 0 and run["context"]["capped_prompts"] == 0  # reported
    assert "system prompt in the user turn" in (out / "summary.md").read_text()
    items = [json.loads(x) for x in (out / "items.jsonl").read_text().splitlines()]
    assert len(items) == 3 and all(r["completion_tokens"] <= 7 for r in items)
    # an explicit option still wins over the run's
    res = CliRunner().invoke(
        build_app(),
        ["eval", "--run", str(run_dir), "--benchmarks", "sample", "--limit", "1", "--max-new-tokens", "3",
         "--out", str(tmp_path / "ev2")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "ev2" / "run.json").read_text())["config"]["max_new_tokens"] == 3


def test_eval_run_refuses_a_model_beside_it(run_dir, tmp_path, capsys):
    from medzero.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["eval", "--run", str(run_dir), "--model", "x", "--out", str(tmp_path / "ev")])
    assert exc.value.code == 2 and "--run takes the run's model" in capsys.readouterr().err


def test_a_lora_checkpoint_is_an_adapter_on_the_runs_base_model(run_dir):
    lora = run_dir / "checkpoint-60"
    lora.mkdir()
    (lora / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "/elsewhere/base"}))
    s = run_settings(run_dir, "60")
    assert (s.adapter, s.model) == (str(lora), "unused")  # run_info.json's resolved model_path wins
    (run_dir / "run_info.json").write_text("{}")
    assert run_settings(run_dir, "60").model == "/elsewhere/base"


def _edit_config(run_dir, edit):
    raw = yaml.safe_load((run_dir / "config.yaml").read_text())
    edit(raw)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))


def test_a_deepspeed_run_is_evaluated_from_anywhere(run_dir):
    # the recipe named a DeepSpeed file beside itself; the run folder's config.yaml keeps the
    # relative name, which only the training needs: eval --run must not look for the file
    _edit_config(run_dir, lambda raw: raw["grpo"].update(deepspeed="ds_zero2.json"))
    assert run_settings(run_dir).max_new_tokens == 7


def test_recipe_prompt_of_a_recipe_file_or_a_run_folder(run_dir):
    assert recipe_prompt(run_dir).system_role == "user"
    assert recipe_prompt("recipes/tiny-cpu.yaml") == load_recipe("recipes/tiny-cpu.yaml").data.prompt
    _edit_config(run_dir, lambda raw: raw["data"]["prompt"].update(sytem_role="user"))
    with pytest.raises(ConfigError, match=r'config\.yaml:\d+: unknown key "data\.prompt\.sytem_role"'):
        recipe_prompt(run_dir)
    with pytest.raises(ConfigError, match="no such recipe file"):
        recipe_prompt(run_dir / "missing.yaml")


def test_a_demonstration_is_added_to_the_runs_prompt_or_to_the_defaults(run_dir):
    from medzero.evaluate.fromrun import eval_settings

    chosen = eval_settings(run_dir, None, None, None, None, None, None, "anemia")
    assert chosen["prompt"].demonstration == "anemia" and chosen["prompt"].system_role == "user"
    assert eval_settings(run_dir, None, None, None, None, None, None)["prompt"].demonstration is None
    plain = eval_settings(None, None, "m", None, None, None, None, "anemia")
    assert plain["prompt"].template == "r1zero" and plain["prompt"].demonstration == "anemia"
    assert "prompt" not in eval_settings(None, None, "m", None, None, None, None)

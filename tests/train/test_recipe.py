"""Recipe parsing: sections, overrides, unknown keys with suggestions, and the shipped recipes."""

from __future__ import annotations

from pathlib import Path

import pytest

from medzero.errors import ConfigError
from medzero.train.recipe import apply_overrides, load_recipe, parse_override, recipe_from_dict

RECIPES = Path(__file__).resolve().parents[2] / "recipes"

MINIMAL = """\
model:
  name_or_path: tiny
data:
  synthetic: 32
rewards:
  accuracy: 1.0
  format: 0.2
grpo:
  learning_rate: 1e-5
  num_generations: 4
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "r.yaml"
    p.write_text(text)
    return p


def test_minimal_recipe_parses_with_typed_values(tmp_path):
    r = load_recipe(write(tmp_path, MINIMAL))
    assert r.model.name_or_path == "tiny"
    assert r.data.synthetic == 32
    assert r.rewards == {"accuracy": 1.0, "format": 0.2}
    # YAML 1.1 reads 1e-5 as a string: it must arrive as a float
    assert r.grpo["learning_rate"] == pytest.approx(1e-5) and isinstance(r.grpo["learning_rate"], float)
    kw = r.grpo_kwargs()
    assert kw["logging_steps"] == 1 and kw["report_to"] == "none"


def test_overrides_are_yaml_typed_and_dotted(tmp_path):
    r = load_recipe(
        write(tmp_path, MINIMAL),
        ["grpo.bf16=false", "grpo.max_steps=3", "data.prompt.template=plain", "rewards.format=0.5"],
    )
    assert r.grpo["bf16"] is False and r.grpo["max_steps"] == 3
    assert r.data.prompt.template == "plain"
    assert r.rewards["format"] == 0.5


def test_parse_override_errors():
    assert parse_override("a.b=[1, 2]") == ("a.b", [1, 2])
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_override("novalue")
    with pytest.raises(ConfigError, match="is a value"):
        apply_overrides({"model": "x"}, ["model.name_or_path=y"])


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("grpo.learnig_rate=1", 'unknown key "grpo.learnig_rate".*Did you mean "grpo.learning_rate"'),
        ("model.nme_or_path=x", 'Did you mean "model.name_or_path"'),
        ("peft.lora_rank=8", 'unknown key "peft.lora_rank"'),
        ("data.prompt.templat=plain", 'Did you mean "data.prompt.template"'),
        ("rewardz.x=1", 'unknown key "rewardz".*Did you mean "rewards"'),
    ],
)
def test_unknown_keys_name_the_nearest_valid_key(tmp_path, override, expected):
    with pytest.raises(ConfigError, match=expected):
        load_recipe(write(tmp_path, MINIMAL), [override])


def test_unknown_key_error_names_file_and_line(tmp_path):
    path = write(tmp_path, MINIMAL + "  num_generatons: 3\n")
    with pytest.raises(ConfigError) as exc:
        load_recipe(path)
    assert f"{path}:11:" in str(exc.value) and 'Did you mean "grpo.num_generations"' in str(exc.value)


def test_wrong_types_and_bad_choices_are_errors(tmp_path):
    with pytest.raises(ConfigError, match=r'"grpo\.num_generations" must be int'):
        load_recipe(write(tmp_path, MINIMAL), ["grpo.num_generations=many"])
    with pytest.raises(ConfigError, match="prompt_overflow"):
        load_recipe(write(tmp_path, MINIMAL), ["data.prompt_overflow=cut"])
    with pytest.raises(ConfigError, match="exactly one of"):
        recipe_from_dict({"model": {"name_or_path": "tiny"}, "data": {"synthetic": 3, "path": "x.jsonl"}})
    with pytest.raises(ConfigError, match="name_or_path"):
        recipe_from_dict({"data": {"synthetic": 3}})
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_recipe(write(tmp_path, "model: [unclosed\n"))


def test_resolved_recipe_round_trips_through_yaml(tmp_path):
    r = load_recipe(write(tmp_path, MINIMAL), ["peft.enabled=true", "peft.target_modules=[q_proj, v_proj]"])
    again = load_recipe(write(tmp_path, r.to_yaml()))
    assert again.to_dict() == r.to_dict()
    assert again.peft.target_modules == ["q_proj", "v_proj"]


def test_every_shipped_recipe_parses():
    paths = sorted(RECIPES.glob("*.yaml"))
    assert len(paths) >= 9, paths
    for p in paths:
        r = load_recipe(p)
        assert r.rewards and (r.model.name_or_path or r.model.gguf_file), p


def test_medzero_huatuo_recipes_keep_the_seed_batch_and_schedule():
    for n in (1, 2, 3):
        r = load_recipe(RECIPES / f"medzero-huatuo-o1-7b-dataset{n}.yaml")
        g = r.grpo
        assert r.model.name_or_path == "FreedomIntelligence/HuatuoGPT-o1-7B"
        assert g["learning_rate"] == 2e-5 and g["num_generations"] == 3
        assert g["max_completion_length"] == 8192 and r.data.prompt_max_tokens == 1024
        assert g["num_train_epochs"] == 6 and g["per_device_train_batch_size"] == 2
        assert g["gradient_accumulation_steps"] == 16 and g["lr_scheduler_type"] == "cosine"
        assert g["warmup_steps"] == 0.1 and g["bf16"] is True and g["gradient_checkpointing"] is True
        assert g["seed"] == 42 and g["use_vllm"] and g["vllm_mode"] == "colocate"
        assert g["vllm_gpu_memory_utilization"] == 0.4
        # the generation batch holds whole groups of 3 completions
        assert g["generation_batch_size"] % 3 == 0


def test_seed_exact_recipes_take_every_setting_from_the_seed():
    for n in (1, 2, 3):
        r = load_recipe(RECIPES / f"seed-exact-huatuo-o1-7b-dataset{n}.yaml")
        g = r.grpo
        assert r.model.name_or_path == "FreedomIntelligence/HuatuoGPT-o1-7B" and r.model.dtype == "bfloat16"
        assert r.model.attn_implementation == "flash_attention_2" and r.model.attn_fallback == "sdpa"
        assert r.rewards == {"seed_accuracy": 1.0, "seed_format": 1.0, "seed_xmlcount": 1.0}
        assert r.data.prompt.template == "seed" and r.data.prepared == f"data/dataset{n}"
        assert (r.data.prompt_max_tokens, r.data.prompt_overflow) == (1024, "truncate_left")
        assert (g["beta"], g["temperature"], g["loss_type"]) == (0.04, 0.9, "bnpo")
        assert g["learning_rate"] == 2e-5 and g["lr_scheduler_type"] == "cosine" and g["warmup_steps"] == 0.1
        assert (g["num_train_epochs"], g["num_generations"], g["max_completion_length"]) == (6, 3, 8192)
        assert (g["per_device_train_batch_size"], g["gradient_accumulation_steps"]) == (2, 16)
        assert g["generation_batch_size"] == 96 and g["seed"] == 42 and g["bf16"] is True
        assert g["gradient_checkpointing"] is True and g["gradient_checkpointing_kwargs"] == {
            "use_reentrant": False
        }
        assert (g["logging_steps"], g["save_strategy"]) == (5, "epoch")
        assert (
            g["use_vllm"] is True and g["vllm_mode"] == "server" and g["vllm_gpu_memory_utilization"] == 0.4
        )
        # TRL 1.16 additions the seed's TRL did not have
        assert g["use_bias_correction_kl"] is False and g["vllm_importance_sampling_correction"] is False
        assert "save_steps" not in g and "save_total_limit" not in g


def test_set_keeps_yaml11_boolean_words_as_strings():
    from medzero.train.recipe import parse_override

    assert parse_override("guard.action=off") == ("guard.action", "off")
    assert parse_override("grpo.save_strategy=no") == ("grpo.save_strategy", "no")
    assert parse_override("grpo.bf16=false") == ("grpo.bf16", False)


def test_rewards_preset_by_name(tmp_path):
    text = MINIMAL.replace("rewards:\n  accuracy: 1.0\n  format: 0.2\n", "rewards: seed\n")
    r = load_recipe(write(tmp_path, text))
    assert r.rewards == {"seed_accuracy": 1.0, "seed_format": 1.0, "seed_xmlcount": 1.0}
    with pytest.raises(ConfigError, match=r'r\.yaml:5: unknown reward preset "sede"\. Did you mean "seed"'):
        load_recipe(write(tmp_path, text.replace("rewards: seed", "rewards: sede")))


def test_data_path_override_replaces_the_recipes_synthetic_data(tmp_path):
    r = load_recipe(write(tmp_path, MINIMAL), ["data.path=my.jsonl"])
    assert r.data.path == "my.jsonl" and r.data.synthetic is None
    r = load_recipe(RECIPES / "tiny-cpu.yaml", ["data.path=train.jsonl"])
    assert r.data.path == "train.jsonl" and r.data.synthetic is None
    # switching back off an override leaves the recipe's own source
    assert load_recipe(write(tmp_path, MINIMAL), ["data.sample=false"]).data.synthetic == 32


def test_two_data_source_overrides_name_both_sets(tmp_path):
    with pytest.raises(ConfigError, match=r'--set "data.path=a.jsonl" and --set "data.synthetic=8"'):
        load_recipe(write(tmp_path, MINIMAL), ["data.path=a.jsonl", "data.synthetic=8"])


def test_warmup_from_is_read_and_written_as_from(tmp_path):
    r = load_recipe(write(tmp_path, MINIMAL + "warmup:\n  from: runs/old\n"))
    assert r.warmup.from_ == "runs/old" and r.warmup.active and not r.warmup.enabled
    assert "from: runs/old" in r.to_yaml()
    assert load_recipe(write(tmp_path, r.to_yaml())).warmup.from_ == "runs/old"
    assert load_recipe(write(tmp_path, MINIMAL), ["warmup.from=x"]).warmup.from_ == "x"


def test_a_recipe_without_rewards_gets_the_one_default_weights():
    from medzero.rewards import DEFAULT_WEIGHTS
    from medzero.train.recipe import Recipe

    r = Recipe()
    assert r.rewards == DEFAULT_WEIGHTS and r.rewards is not DEFAULT_WEIGHTS

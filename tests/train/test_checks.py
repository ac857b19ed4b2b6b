"""Pre-flight checks: each fires on the bad setting, with its severity, and stays quiet otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from medzero.errors import ConfigError
from medzero.train.checks import Context, batch_findings, context_length, errors, required_columns, run_checks
from medzero.train.recipe import load_recipe, recipe_from_dict

RECIPES = Path(__file__).resolve().parents[2] / "recipes"


def recipe(**sections):
    raw = {
        "model": {"name_or_path": "tiny"},
        "data": {"synthetic": 16},
        "rewards": {"accuracy": 1.0, "format": 0.2},
        "grpo": {"num_generations": 4, "per_device_train_batch_size": 8, "learning_rate": 1e-5},
    }
    for key, value in sections.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    return recipe_from_dict(raw)


def checks(rec, **ctx):
    ctx.setdefault("columns", ["id", "answer", "options", "prompt"])
    return {(f.check, f.severity): f.message for f in run_checks(rec, Context(**ctx))}


class FakeTokenizer:
    def __init__(self, tail: str):
        self.chat_template, self.tail = "x", tail

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=True):
        return "<|user|>x" + self.tail


def test_a_sound_recipe_has_no_errors_or_warnings():
    found = checks(recipe(), model_config={"max_position_embeddings": 2048}, module_names=["model.q_proj"])
    assert {sev for _, sev in found} == {"info"}, found


def test_divisibility_rule_is_explained_with_a_fix():
    found = batch_findings(
        {"num_generations": 3, "per_device_train_batch_size": 2, "gradient_accumulation_steps": 16}, 1
    )
    (f,) = found
    assert f.severity == "error" and "multiple of 3" in f.message and "generation_batch_size=36" in f.message
    assert not errors(
        batch_findings(
            {"num_generations": 3, "per_device_train_batch_size": 2, "gradient_accumulation_steps": 16}, 3
        )
    )
    g = {
        "num_generations": 4,
        "per_device_train_batch_size": 8,
        "gradient_accumulation_steps": 1,
        "generation_batch_size": 12,
    }
    assert "multiple of per_device_train_batch_size" in batch_findings(g, 1)[0].message


@pytest.mark.parametrize(
    ("spg", "accum", "severity", "needles"),
    [
        # a step gathers two whole rounds, both sampled before the update: on-policy, no warning
        (2, 4, "info", ["each step gathers 2 rounds", "on-policy"]),
        # rounds of 3 micro-batches against steps of 4: the second round straddles the first update
        (3, 4, "warning", ["3 does not divide 4", "up to 2 optimizer steps", "up to 1 update(s) old"]),
        # one round feeds three whole optimizer steps
        (
            12,
            4,
            "warning",
            ["up to 3 optimizer steps", "up to 2 update(s) old", "gradient_accumulation_steps=12"],
        ),
    ],
)
def test_generation_rounds_against_accumulation_state_the_true_arithmetic(spg, accum, severity, needles):
    g = {
        "num_generations": 2,
        "per_device_train_batch_size": 2,
        "gradient_accumulation_steps": accum,
        "steps_per_generation": spg,
    }
    found = batch_findings(g, 1)
    assert [f.severity for f in found] == ["info", severity]
    for needle in needles:
        assert needle in found[1].message, found[1].message
    assert "reused" not in found[1].message  # every completion is used once: nothing is reused


def test_num_generations_below_two_is_fatal():
    found = checks(recipe(grpo={"num_generations": 1}))
    assert "at least 2" in found[("num_generations", "error")]


def test_seed_recipe_batches_are_valid_on_1_3_and_4_processes():
    rec = load_recipe(RECIPES / "medzero-huatuo-o1-7b-dataset1.yaml")
    g = {"num_generations": 3, **rec.grpo}
    for world in (1, 3, 4):
        found = batch_findings(g, world)
        assert not errors(found), (world, found)
    assert [f.severity for f in batch_findings(g, 3)] == ["info"]  # 3 processes: exactly the seed's step
    assert "gradient_accumulation_steps=12" in batch_findings(g, 4)[1].message


def test_learning_rate_far_outside_the_usual_range_warns():
    assert ("learning_rate", "warning") in checks(recipe(grpo={"learning_rate": 0.05}))
    assert ("learning_rate", "warning") in checks(recipe(grpo={"learning_rate": 1e-10}))
    assert ("learning_rate", "error") in checks(recipe(grpo={"learning_rate": 0.0}))


def test_completion_beyond_the_context_window():
    cfg = {"text_config": {"max_position_embeddings": 1024}}
    assert context_length(cfg) == 1024
    assert ("context", "error") in checks(recipe(grpo={"max_completion_length": 2048}), model_config=cfg)
    capped = recipe(grpo={"max_completion_length": 1000}, data={"prompt_max_tokens": 512})
    assert ("context", "warning") in checks(capped, model_config=cfg)


def test_template_that_preopens_think():
    assert ("think_template", "info") in checks(recipe(), tokenizer=FakeTokenizer("<think>\n"))
    assert ("think_template", "info") not in checks(recipe(), tokenizer=FakeTokenizer(""))
    conflict = recipe(reward_params={"format": {"think_preopened": False}})
    assert ("think_template", "error") in checks(conflict, tokenizer=FakeTokenizer("<think>"))


def test_lora_targets_missing_in_the_model():
    names = [
        "model.layers.0.self_attn.q_proj",
        "model.layers.0.self_attn.v_proj",
        "model.layers.0.mlp.up_proj",
    ]
    bad = recipe(peft={"enabled": True, "target_modules": ["q_proj", "query_key_value"]})
    msg = checks(bad, module_names=names)[("lora_targets", "error")]
    assert "query_key_value" in msg and "up_proj" in msg
    good = recipe(peft={"enabled": True, "target_modules": ["q_proj", "v_proj"]})
    assert ("lora_targets", "error") not in checks(good, module_names=names)


def test_bf16_and_vllm_on_cpu():
    found = checks(recipe(grpo={"bf16": True, "use_vllm": True}), has_cuda=False)
    assert ("bf16", "error") in found and ("vllm", "error") in found
    assert ("bf16", "error") not in checks(recipe(grpo={"bf16": True}), has_cuda=True)


def test_reward_weights_where_format_outweighs_accuracy():
    found = checks(recipe(rewards={"accuracy": 0.1, "format": 1.0}))
    assert ("reward_weights", "warning") in found
    with pytest.raises(ConfigError, match="accuracy"):
        checks(recipe(rewards={"acuracy": 1.0}))


def test_dataset_columns_the_rewards_need():
    found = checks(recipe(), columns=["id", "prompt"])
    assert "answer" in found[("columns", "error")]

    def custom(completions, answer_text, **kwargs):
        return [0.0] * len(completions)

    assert required_columns([custom]) == {"answer_text"}


def test_errors_come_first():
    found = run_checks(
        recipe(grpo={"num_generations": 1, "learning_rate": 0.5}), Context(columns=["answer", "options"])
    )
    severities = [f.severity for f in found]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)

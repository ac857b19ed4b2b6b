"""Pre-flight helpers: cheap model inspection, launcher world size, think_preopened wiring."""

from __future__ import annotations

from medzero.train.preflight import meta_module_names, preflight, read_model_config, reward_params, world_size
from medzero.train.recipe import recipe_from_dict


def tiny(model_dir, **extra):
    return recipe_from_dict(
        {
            "model": {"name_or_path": str(model_dir)},
            "data": {"synthetic": 8},
            "rewards": {"accuracy": 1.0, "format": 0.2},
            "grpo": {"num_generations": 2, "per_device_train_batch_size": 4},
            **extra,
        }
    )


def test_model_is_inspected_without_loading_weights(tiny_model_dir):
    rec = tiny(tiny_model_dir)
    assert read_model_config(str(tiny_model_dir), rec)["max_position_embeddings"] > 0
    names = meta_module_names(str(tiny_model_dir), rec)
    assert any(n.endswith("self_attn.q_proj") for n in names)
    assert read_model_config("no/such-model", rec) is None


def test_world_size_comes_from_the_launcher(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert world_size() == 1
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert world_size() == 4


def test_think_preopened_reaches_every_reward_that_takes_it(tiny_model_dir):
    rec = tiny(tiny_model_dir, reward_params={"format": {"variant": "soft"}})
    assert reward_params(rec, False) == {"format": {"variant": "soft"}}
    params = reward_params(rec, True)
    assert params["format"] == {"variant": "soft", "think_preopened": True}
    assert params["accuracy"] == {"think_preopened": True}


def test_preflight_on_the_tiny_model(tiny_model_dir):
    pre = preflight(tiny(tiny_model_dir, peft={"enabled": True, "target_modules": ["q_proj", "qkv"]}))
    assert not pre.ok and any(f.check == "lora_targets" and "qkv" in f.message for f in pre.findings)
    assert len(pre.rows) == 8 and pre.think_preopened is False

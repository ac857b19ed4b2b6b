"""LoRA and 4-bit QLoRA train the tiny model on CPU: gradients flow, adapter weights move, the
adapter is saved and merges into the base model."""

from __future__ import annotations

import json

import pytest

from medzero.train.recipe import recipe_from_dict
from medzero.train.runner import train

pytestmark = pytest.mark.slow


def lora_recipe(model_dir, **peft):
    # `overlong` in characters varies between random completions, so groups have reward spread
    # (advantages != 0) even before the model can answer; accuracy alone would be all zeros.
    return recipe_from_dict(
        {
            "model": {"name_or_path": str(model_dir), "dtype": "float32"},
            "peft": {
                "r": 4,
                "lora_alpha": 8,
                "lora_dropout": 0.0,
                "target_modules": ["q_proj", "v_proj"],
                **peft,
            },
            "data": {"synthetic": 8},
            "rewards": {"accuracy": 1.0, "overlong": 1.0},
            "reward_params": {"overlong": {"max_completion_length": 40, "cache_length": 35, "unit": "chars"}},
            "guard": {"action": "off"},
            "grpo": {
                "num_generations": 4,
                "per_device_train_batch_size": 8,
                "max_completion_length": 8,
                "max_steps": 2,
                "learning_rate": 5e-3,
                "gradient_checkpointing": False,
                "save_steps": 2,
                "temperature": 1.2,
                "seed": 0,
            },
        }
    )


def check_adapter(model_dir, final):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    assert (final / "adapter_config.json").is_file() and (final / "adapter_model.safetensors").is_file()
    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    before = base.model.layers[0].self_attn.q_proj.weight.detach().clone()
    model = PeftModel.from_pretrained(base, final)
    lora_b = {n: p for n, p in model.named_parameters() if "lora_B" in n}
    assert lora_b and all(p.abs().sum() > 0 for p in lora_b.values()), "lora_B starts at 0: training moved it"
    merged = model.merge_and_unload()
    assert not hasattr(merged, "peft_config")
    assert not torch.equal(merged.model.layers[0].self_attn.q_proj.weight, before)


def grad_norms(out):
    return [json.loads(line)["grad_norm"] for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_lora_trains_saves_and_merges(tiny_model_dir, tmp_path):
    out = tmp_path / "lora"
    info = train(lora_recipe(tiny_model_dir, enabled=True), out, progress=False)
    assert info["global_step"] == 2 and not info["loaded_in_4bit"]
    assert any(g and g > 0 for g in grad_norms(out))
    check_adapter(tiny_model_dir, out / "final")


def test_qlora_4bit_trains_saves_and_merges(tiny_model_dir, tmp_path):
    pytest.importorskip("bitsandbytes")
    out = tmp_path / "qlora"
    rec = lora_recipe(tiny_model_dir, load_in_4bit=True, bnb_4bit_compute_dtype="float32")
    info = train(rec, out, progress=False)
    assert info["global_step"] == 2 and info["loaded_in_4bit"]
    assert any(g and g > 0 for g in grad_norms(out))
    # the adapter trained on the 4-bit base merges into the full-precision base for deployment
    check_adapter(tiny_model_dir, out / "final")

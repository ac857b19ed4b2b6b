"""Image questions through the training path: rows with decoded, capped images; the processor
and the VLM class chosen from the data; a 2-step GRPO run on the tiny VLM."""

from __future__ import annotations

import json

import pytest

from medzero.data.synthetic_scans import write_scans
from medzero.errors import ConfigError
from medzero.train.dataset import to_dataset
from medzero.train.preflight import preflight
from medzero.train.recipe import recipe_from_dict


def vision_recipe(model_dir, data_path, rewards=None, reward_params=None, **extra):
    return recipe_from_dict(
        {
            "model": {"name_or_path": str(model_dir)},
            "data": {"path": str(data_path), **extra},
            "rewards": rewards or {"accuracy": 1.0, "format": 0.2},
            "reward_params": reward_params or {},
            "guard": {"action": "off"},
            "grpo": {
                "num_generations": 2,
                "per_device_train_batch_size": 4,
                "max_completion_length": 8,
                "max_steps": 2,
                "learning_rate": 1e-3,
                "gradient_checkpointing": False,
                "save_steps": 2,
                "seed": 0,
            },
        }
    )


def test_dataset_decodes_and_caps_images(tmp_path):
    mcqs = write_scans(tmp_path, 2, seed=0, size=64)
    rows = [{"id": m.id, "prompt": [], "images": m.images} for m in mcqs]
    ds = to_dataset(rows, image_max_pixels=256)
    img = ds[0]["images"][0]
    assert img.mode == "RGB" and img.size == (16, 16)
    assert "images" not in to_dataset([{"id": "t", "prompt": []}]).column_names


def test_preflight_loads_the_processor_for_image_questions(tiny_vlm_dir, tmp_path):
    write_scans(tmp_path, 4)
    pre = preflight(vision_recipe(tiny_vlm_dir, tmp_path / "scans.jsonl"))
    assert type(pre.processing_class).__name__ == "LlavaProcessor"
    assert pre.tokenizer is pre.processor.tokenizer and all(len(r["images"]) == 1 for r in pre.rows)
    with pytest.raises(ConfigError, match="loses their images"):
        preflight(
            vision_recipe(
                tiny_vlm_dir, tmp_path / "scans.jsonl", prompt_overflow="truncate_left", prompt_max_tokens=100
            )
        )


def test_text_model_without_image_processor_is_refused(tiny_model_dir, tmp_path):
    write_scans(tmp_path, 4)
    with pytest.raises(ConfigError, match=r"model\.processor"):
        preflight(vision_recipe(tiny_model_dir, tmp_path / "scans.jsonl"))


@pytest.mark.slow
def test_two_grpo_steps_on_the_tiny_vlm(tiny_vlm_dir, tmp_path):
    import torch
    from transformers import AutoModelForImageTextToText

    from medzero.train.runner import train

    write_scans(tmp_path / "data", 8)
    out = tmp_path / "run"
    # An untrained model is never right, so accuracy alone gives every group zero advantage and no
    # gradient; overlong in characters differs between any two completions of different length.
    recipe = vision_recipe(
        tiny_vlm_dir,
        tmp_path / "data" / "scans.jsonl",
        rewards={"accuracy": 1.0, "format": 0.2, "overlong": 1.0},
        reward_params={"overlong": {"max_completion_length": 60, "cache_length": 59, "unit": "chars"}},
    )
    info = train(recipe, out, progress=False)
    assert info["status"] == "finished" and info["global_step"] == 2
    comps = [json.loads(line) for line in (out / "completions.jsonl").read_text().splitlines()]
    assert len(comps) == 8 and all(set(c["rewards"]) == {"accuracy", "format", "overlong"} for c in comps)
    assert any(c["advantage"] != 0 for c in comps)
    before = AutoModelForImageTextToText.from_pretrained(tiny_vlm_dir).state_dict()
    after = AutoModelForImageTextToText.from_pretrained(out / "final").state_dict()
    vision = [k for k in before if "vision_tower" in k]
    changed = [k for k in vision if not torch.equal(before[k], after[k])]
    assert changed, "no vision-tower weight changed: the images did not reach the loss"
    assert (out / "final" / "processor_config.json").is_file()

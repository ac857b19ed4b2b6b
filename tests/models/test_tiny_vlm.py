"""The tiny vision-language model: built locally by `medzero model tiny-vlm`, loads back with the
Auto classes, renders image prompts and generates from pixels."""

from __future__ import annotations

import json

import pytest

from medzero.cli import main
from medzero.models.tiny_vlm import IMAGE_TOKEN, MARKER, TinyVisionConfig, is_tiny_vlm


@pytest.fixture(scope="module")
def loaded(tiny_vlm_dir):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    return AutoProcessor.from_pretrained(tiny_vlm_dir), AutoModelForImageTextToText.from_pretrained(
        tiny_vlm_dir
    )


def test_cli_writes_a_loadable_folder(tiny_vlm_dir, loaded):
    processor, model = loaded
    info = json.loads((tiny_vlm_dir / MARKER).read_text())
    assert is_tiny_vlm(tiny_vlm_dir) and info["image_tokens"] == 16
    assert (
        type(model).__name__ == "LlavaForConditionalGeneration"
        and type(processor).__name__ == "LlavaProcessor"
    )
    assert 100_000 < info["parameters"] == sum(p.numel() for p in model.parameters()) < 2_000_000
    assert model.config.image_token_index == processor.tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
    assert processor.tokenizer.padding_side == "left"


def test_chat_template_renders_image_parts(loaded):
    processor, _ = loaded
    msgs = [
        {"role": "system", "content": "Think, then answer."},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Where is the lesion?"}]},
    ]
    text = processor.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    assert text == "<|system|>Think, then answer.\n<|user|><image>Where is the lesion?\n<|assistant|>"


def test_processor_expands_image_tokens_and_model_generates(loaded):
    import torch
    from PIL import Image

    processor, model = loaded
    text = processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Which quadrant?"}]}],
        tokenize=False,
        add_generation_prompt=True,
    )
    images = [Image.new("RGB", (50, 40), (200, 0, 0)), Image.new("RGB", (20, 70), (0, 0, 200))]
    batch = processor(images=images, text=[text, text], return_tensors="pt", padding=True)
    assert batch["pixel_values"].shape == (2, 3, 32, 32)
    assert (batch["input_ids"] == model.config.image_token_index).sum(dim=1).tolist() == [16, 16]
    with torch.no_grad():
        logits = model(**batch).logits
        out = model.generate(**batch, max_new_tokens=4, do_sample=False)
    assert out.shape[1] > batch["input_ids"].shape[1]
    # the two pictures differ, so the next-token distributions do too: the model sees pixels
    assert not torch.allclose(logits[0, -1], logits[1, -1])


def test_bad_sizes_are_a_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["model", "tiny-vlm", "--out", str(tmp_path / "m"), "--image-size", "30", "--patch-size", "8"])
    assert exc.value.code == 2 and "must divide image_size" in capsys.readouterr().err
    with pytest.raises(ValueError, match="divisible by num_heads"):
        TinyVisionConfig(hidden_size=10, num_heads=3)

"""The tiny local vision-language model: the tiny tokenizer plus an ``<image>`` token, a small
SigLIP vision tower and a small Llama text tower joined by LLaVA's projector, randomly initialised
from a transformers config with no download.

* Architecture: :class:`transformers.LlavaForConditionalGeneration` — the vision tower's patch
  features (all of them: ``vision_feature_select_strategy="full"``, SigLIP has no CLS token) go
  through a two-layer projector into the text model, one ``<image>`` placeholder token per patch.
  TRL 1.16's GRPOTrainer trains it as a VLM (a processor as ``processing_class``, an ``images``
  dataset column; LLaVA's ``pixel_values`` hold one entry per image).
* Processor: :class:`transformers.LlavaProcessor` with a locally configured SigLIP image processor
  (every image resized to ``image_size`` square, scaled to [-1, 1]) and the tokenizer of
  :func:`medzero.models.tiny.train_tokenizer` with ``<image>`` added as a special token. The
  processor expands each ``<image>`` in the text to ``(image_size / patch_size) ** 2`` tokens.
* Chat template: the tiny model's role markers; a message's content may be a string or a list of
  ``{"type": "image"}`` / ``{"type": "text", "text": ...}`` parts (what TRL's
  ``prepare_multimodal_messages`` makes), an image part rendering as ``<image>``.

Sizes (``tiny`` preset): vision 64 wide, 1 layer, 32x32 pixels in 8x8 patches (16 image tokens);
text 128 wide, 2 layers — about 0.7M parameters, fp32, trainable on 2 CPU cores.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from medzero.models.tiny import EOS, TinyModelConfig, default_corpus, llama_config, train_tokenizer

MARKER = "medzero_tiny_vlm.json"
BUILD_VERSION = 1
IMAGE_TOKEN = "<image>"

CHAT_TEMPLATE = (
    "{%- for m in messages -%}<|{{ m['role'] }}|>"
    "{%- if m['content'] is string %}{{ m['content'] }}"
    "{%- else %}{%- for p in m['content'] %}"
    "{%- if p['type'] == 'image' %}"
    + IMAGE_TOKEN
    + "{%- elif p['type'] == 'text' %}{{ p['text'] }}{%- endif %}"
    "{%- endfor %}{%- endif %}"
    "{%- if m['role'] == 'assistant' %}" + EOS + "{% endif %}{{ '\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt %}<|assistant|>{% endif -%}"
)


@dataclass(frozen=True)
class TinyVisionConfig:
    """Size of the randomly initialised SigLIP vision tower and of the images it sees."""

    image_size: int = field(
        default=32, metadata={"help": "Images are resized to this square size (pixels) by the processor."}
    )
    patch_size: int = field(
        default=8,
        metadata={"help": "Patch side (pixels); must divide image_size. Image tokens = (size/patch)^2."},
    )
    hidden_size: int = field(default=64, metadata={"help": "Vision tower width."})
    num_layers: int = field(default=1, metadata={"help": "Vision transformer layers."})
    num_heads: int = field(default=2, metadata={"help": "Vision attention heads; must divide hidden_size."})
    intermediate_size: int = field(default=128, metadata={"help": "Vision MLP width."})

    def __post_init__(self) -> None:
        if self.image_size % self.patch_size:
            raise ValueError(f"patch_size ({self.patch_size}) must divide image_size ({self.image_size})")
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be divisible by num_heads ({self.num_heads})"
            )

    @property
    def image_tokens(self) -> int:
        """Placeholder tokens one image takes in the prompt."""
        return (self.image_size // self.patch_size) ** 2


def build_tokenizer(corpus: Sequence[str] | None, vocab_size: int, seed: int) -> Any:
    """The tiny tokenizer with ``<image>`` as a special token and the image-aware chat template."""
    from tokenizers import AddedToken

    tokenizer = train_tokenizer(corpus, vocab_size, seed)
    tokenizer.add_tokens([AddedToken(IMAGE_TOKEN, normalized=False, special=True)], special_tokens=True)
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_tiny_vlm(
    out_dir: str | Path,
    seed: int = 0,
    text: TinyModelConfig | None = None,
    vision: TinyVisionConfig | None = None,
    corpus: Sequence[str] | None = None,
) -> Path:
    """Build processor + randomly initialised LLaVA model (seeded) and ``save_pretrained`` both to
    ``out_dir``; both load back with ``AutoProcessor`` / ``AutoModelForImageTextToText``."""
    import torch
    from transformers import (
        GenerationConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        SiglipVisionConfig,
    )
    from transformers import SiglipImageProcessorPil as ImageProcessor  # Pillow backend: no torchvision

    text = text or TinyModelConfig()
    vision = vision or TinyVisionConfig()
    texts = list(corpus) if corpus is not None else default_corpus(seed)
    tokenizer = build_tokenizer(texts, text.vocab_size, seed)
    image_processor = ImageProcessor(
        size={"height": vision.image_size, "width": vision.image_size},
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=vision.patch_size,
        vision_feature_select_strategy="full",
        chat_template=CHAT_TEMPLATE,
        image_token=IMAGE_TOKEN,
    )
    config = LlavaConfig(
        vision_config=SiglipVisionConfig(
            hidden_size=vision.hidden_size,
            intermediate_size=vision.intermediate_size,
            num_hidden_layers=vision.num_layers,
            num_attention_heads=vision.num_heads,
            image_size=vision.image_size,
            patch_size=vision.patch_size,
        ),
        text_config=llama_config(text, tokenizer),
        image_token_index=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
        vision_feature_select_strategy="full",
        vision_feature_layer=-1,
        tie_word_embeddings=True,
        dtype="float32",
    )
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(config).to(torch.float32)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    info = {
        "build_version": BUILD_VERSION,
        "architecture": "LlavaForConditionalGeneration (SigLIP vision, Llama text)",
        "seed": seed,
        "text": asdict(text),
        "vision": asdict(vision),
        "image_tokens": vision.image_tokens,
        "parameters": sum(p.numel() for p in model.parameters()),
        "corpus_texts": len(texts),
    }
    (out / MARKER).write_text(json.dumps(info, indent=2) + "\n")
    return out


def is_tiny_vlm(path: str | Path) -> bool:
    """True for a folder written by :func:`build_tiny_vlm`."""
    return (Path(path) / MARKER).is_file()

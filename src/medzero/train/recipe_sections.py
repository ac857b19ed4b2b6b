"""The sections of a training recipe that are plain settings: ``model``, ``peft``, ``data``,
``warmup`` and ``guard`` (see :mod:`medzero.train.recipe` for the whole recipe and how it is read)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from medzero.data.images import DEFAULT_MAX_PIXELS
from medzero.data.prompts import PromptConfig


@dataclass
class ModelSection:
    """The policy model."""

    name_or_path: str = field(
        default="",
        metadata={
            "help": "HF hub id or local dir; 'tiny' builds/reuses the local tiny model; a .gguf file is "
            "converted once (see gguf_file)."
        },
    )
    gguf_file: str | None = field(
        default=None,
        metadata={
            "help": "A GGUF file to convert once to a cached HF folder and use ('packaged': the Gemma 3 "
            "270M of the gguf extra); relative to name_or_path when that is a folder. name_or_path may "
            "then be left empty."
        },
    )
    dtype: str = field(default="auto", metadata={"help": "auto, float32, bfloat16 or float16."})
    attn_implementation: str | None = field(
        default=None, metadata={"help": "eager, sdpa, flash_attention_2 ... (None: transformers' choice)."}
    )
    attn_fallback: str | None = field(
        default="sdpa",
        metadata={
            "help": "Used instead of attn_implementation 'flash_attention_2' when the flash_attn "
            "package is not installed or there is no CUDA device (pre-flight says so); None: no "
            "fallback, transformers then fails to load the model."
        },
    )
    trust_remote_code: bool = field(default=False, metadata={"help": "Run model code from the hub repo."})
    revision: str | None = field(default=None, metadata={"help": "Hub revision (branch, tag or commit)."})
    chat_template: str | None = field(
        default=None,
        metadata={
            "help": "Chat template to install: a path to a .jinja file or the template text. None keeps the "
            "tokenizer's; without any template prompts are rendered as plain text ('User: ...\\nAssistant:')."
        },
    )
    processor: str | None = field(
        default=None,
        metadata={
            "help": "Image questions: the processor (image processor + tokenizer) to load, a folder or hub "
            "id; None: the model's own. Used only when the training questions carry images; the model "
            "is then loaded with AutoModelForImageTextToText and TRL gets the processor."
        },
    )


@dataclass
class PeftSection:
    """LoRA (``enabled``) and 4-bit QLoRA (``load_in_4bit``, implies LoRA)."""

    enabled: bool = field(default=False, metadata={"help": "Train a LoRA adapter instead of all weights."})
    r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scaling numerator (scale = alpha / r)."})
    lora_dropout: float = field(default=0.05, metadata={"help": "Dropout on the LoRA branch."})
    target_modules: list[str] | str = field(
        default="all-linear",
        metadata={
            "help": "Module name suffixes to adapt (e.g. [q_proj, v_proj]), 'all-linear', or any other "
            "string: a regular expression PEFT full-matches against module names (e.g. "
            "'.*language_model.*\\.(q_proj|v_proj)' adapts only a vision-language model's text tower)."
        },
    )
    load_in_4bit: bool = field(
        default=False, metadata={"help": "QLoRA: load the base model in 4 bit (bitsandbytes)."}
    )
    bnb_4bit_quant_type: str = field(default="nf4", metadata={"help": "nf4 or fp4."})
    bnb_4bit_compute_dtype: str = field(
        default="bfloat16", metadata={"help": "Compute dtype of 4-bit layers."}
    )
    bnb_4bit_use_double_quant: bool = field(
        default=True, metadata={"help": "Quantize the quantization constants."}
    )

    @property
    def active(self) -> bool:
        return self.enabled or self.load_in_4bit


@dataclass
class DataSection:
    """Training questions: exactly one of ``prepared``, ``path``, ``synthetic`` or ``sample``."""

    prepared: str | None = field(
        default=None, metadata={"help": "Directory written by `medzero data prepare`."}
    )
    path: str | None = field(default=None, metadata={"help": "A question file read by medzero.data.loaders."})
    format: str = field(default="auto", metadata={"help": "Loader format name for `path` (auto-detected)."})
    skip_bad: bool = field(
        default=False,
        metadata={"help": "Train without the malformed records of `path` (listed); default: refuse."},
    )
    synthetic: int | None = field(
        default=None, metadata={"help": "Number of synthetic drug-class questions (the tiny learnable task)."}
    )
    sample: bool | None = field(
        default=None,
        metadata={"help": "true: the bundled sample questions (medzero.data.loaders.sample_questions)."},
    )
    seed: int = field(default=0, metadata={"help": "Seed for synthetic questions and for `limit` sampling."})
    limit: int | None = field(
        default=None, metadata={"help": "Keep a seeded random subset of this many questions."}
    )
    prompt: PromptConfig = field(
        default_factory=PromptConfig, metadata={"help": "How questions become prompts."}
    )
    prompt_max_tokens: int | None = field(
        default=None, metadata={"help": "Cap on prompt tokens (TRL has no max_prompt_length); None: no cap."}
    )
    prompt_overflow: str = field(
        default="drop",
        metadata={
            "help": "Over the cap: 'drop' the question; 'truncate' the stem's beginning to fit; or "
            "'truncate_left' (the seed's TRL): keep the last prompt_max_tokens tokens of the "
            "chat-templated prompt, system prompt and template opening going first."
        },
    )
    image_max_pixels: int | None = field(
        default=DEFAULT_MAX_PIXELS,
        metadata={
            "help": "Image questions: each image is scaled down (aspect kept) to at most this many pixels "
            "before the processor sees it; 802816 = 1024 patches of 28x28, the usual Qwen2.5-VL "
            "GRPO cap. Image tokens are not counted by prompt_max_tokens. None: no cap."
        },
    )


@dataclass
class WarmupSection:
    """Optional supervised format warm-up (medzero.train.warmup.run_format_warmup) before GRPO."""

    enabled: bool = field(default=False, metadata={"help": "Run the format warm-up first."})
    params: dict[str, Any] = field(
        default_factory=dict,
        metadata={
            "help": "Keyword arguments for run_format_warmup (steps, learning_rate, restate, restate_tokens, "
            "restate_words, ...); seed defaults to grpo.seed."
        },
    )
    from_: str | None = field(
        default=None,
        metadata={
            "help": "YAML key `from`: reuse an earlier warm-up (a run dir with warmup/, or the warm-up "
            "folder itself) instead of training one; GRPO starts from it."
        },
    )

    @property
    def active(self) -> bool:
        return self.enabled or bool(self.from_)


@dataclass
class GuardSection:
    """Collapse guard: every completion truncated and every group with zero reward spread."""

    action: str = field(default="warn", metadata={"help": "off, warn or stop when a collapse is detected."})
    patience: int = field(default=10, metadata={"help": "Consecutive logged steps the signs must persist."})
    threshold: float = field(
        default=0.99,
        metadata={"help": "frac_reward_zero_std and clipped_ratio at or above this count as collapsed."},
    )

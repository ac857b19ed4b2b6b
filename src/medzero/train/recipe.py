"""Training recipes: one YAML file -> a :class:`Recipe` of documented dataclasses.

A recipe has these top-level sections (every one optional except ``model``)::

    model:         what to train (see ModelSection)
    peft:          LoRA / 4-bit QLoRA (PeftSection)
    data:          where the questions come from and how prompts are built (DataSection)
    rewards:       {reward name: weight}, names from medzero.rewards.REWARDS, or a preset name
                   (``rewards: seed``, medzero.rewards.PRESETS)
    reward_params: keyword arguments for medzero.rewards.build_reward_funcs
    warmup:        optional format warm-up before GRPO (WarmupSection)
    tools:         tools the policy may call while it reasons: {search: {index, k, max_calls}}
                   (medzero.tools.search.ToolsSection, docs/tools.md)
    guard:         collapse guard (GuardSection)
    validation:    held-out questions scored during training, RUN_DIR/best (ValidationSection)
    grpo:          any field of trl.GRPOConfig, passed through as-is
    curriculum, dynamic_sampling: optional, see medzero.curriculum and docs/curriculum.md

Unknown keys anywhere are :class:`~medzero.errors.ConfigError`s naming the file, the line and the
nearest valid name. ``--set a.b=value`` overrides are applied to the raw YAML before validation;
values are parsed as YAML (``--set grpo.bf16=false`` gives a bool, ``=1e-5`` a float).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from medzero import yamlsafe
from medzero.curriculum import parse_sections
from medzero.data.images import DEFAULT_MAX_PIXELS
from medzero.data.prompts import PromptConfig
from medzero.errors import ConfigError
from medzero.rewards.weights import DEFAULT_WEIGHTS
from medzero.sections import Where, build, coerce, coerce_scalar, mapping
from medzero.tools.search import SearchToolConfig, ToolsSection
from medzero.train.recipe_rules import check_numbers, check_ranges
from medzero.train.validation import ValidationSection

# medzero's own GRPOConfig defaults (TRL's are tuned for GPUs and big models); a recipe overrides them.
GRPO_DEFAULTS: dict[str, Any] = {
    "logging_steps": 1,  # metrics.jsonl holds one line per optimizer step
    "report_to": "none",
    "disable_tqdm": True,  # medzero shows its own progress bar
    "save_strategy": "steps",
    "save_steps": 100,
}


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
        metadata={"help": "Module name suffixes to adapt (e.g. [q_proj, v_proj]) or 'all-linear'."},
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


@dataclass
class Recipe:
    """A resolved training recipe."""

    model: ModelSection = field(default_factory=ModelSection)
    peft: PeftSection = field(default_factory=PeftSection)
    data: DataSection = field(default_factory=DataSection)
    rewards: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    reward_params: dict[str, dict[str, Any]] = field(
        default_factory=dict, metadata={"help": "Per-reward constructor parameters: {name: {param: value}}."}
    )
    warmup: WarmupSection = field(default_factory=WarmupSection)
    guard: GuardSection = field(default_factory=GuardSection)
    validation: ValidationSection = field(default_factory=ValidationSection)
    grpo: dict[str, Any] = field(default_factory=dict)
    tools: ToolsSection | None = field(
        default=None,
        metadata={"help": "Tools the policy calls during generation (TRL's tools=); see docs/tools.md."},
    )
    curriculum: dict[str, Any] | None = field(
        default=None,
        metadata={"help": "Data order/mix by difficulty bin (medzero.curriculum, docs/curriculum.md)."},
    )
    dynamic_sampling: dict[str, Any] | None = field(
        default=None, metadata={"help": "Zero-variance group filter, online re-grading (docs/curriculum.md)."}
    )
    source: str | None = field(default=None, metadata={"help": "The YAML file it came from."})

    def grpo_kwargs(self) -> dict[str, Any]:
        """GRPOConfig keyword arguments: medzero's defaults overridden by the recipe."""
        return {**GRPO_DEFAULTS, **self.grpo}

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("source")
        d["warmup"]["from"] = d["warmup"].pop("from_")
        if d["tools"] is None:  # recipes without tools dump as they always did
            d.pop("tools")
        return d

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)


# ---------------------------------------------------------------------------------------------- parsing


def grpo_fields() -> dict[str, Any]:
    """``name -> type`` of every trl.GRPOConfig field (imports TRL: a few seconds)."""
    from trl import GRPOConfig

    hints = typing.get_type_hints(GRPOConfig)
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(GRPOConfig) if f.init}


def parse_override(text: str) -> tuple[str, Any]:
    """``"grpo.learning_rate=1e-5"`` -> ``("grpo.learning_rate", 1e-05)`` (value parsed as YAML)."""
    if "=" not in text:
        raise ConfigError(f'--set "{text}": expected KEY=VALUE, e.g. grpo.learning_rate=1e-5')
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f'--set "{text}": empty key part')
    if raw.strip().lower() in _YAML11_WORDS:  # only true/false are booleans on the command line
        return key, raw.strip()
    value = yamlsafe.loads(raw, f'--set "{text}"', lines=False) if raw.strip() else None
    return key, coerce_scalar(value)


#: Words YAML 1.1 reads as booleans; in ``--set`` they stay strings (``guard.action=off``,
#: ``grpo.save_strategy=no``) so that choices spelled like them are not turned into ``False``.
_YAML11_WORDS = frozenset({"yes", "no", "on", "off", "y", "n"})


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, str]:
    """Apply dotted ``--set`` overrides to the raw recipe mapping (in place).

    Returns ``{dotted key: value text}``: a string field keeps the text as typed
    (``--set model.revision=20240101`` stays the string ``"20240101"``)."""
    texts: dict[str, str] = {}
    for text in overrides:
        key, value = parse_override(text)
        node = raw
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError(f'--set "{text}": "{part}" is a value, not a section')
            node = child
        node[parts[-1]] = value
        texts[key] = text.split("=", 1)[1].strip()
    return texts


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> Recipe:
    """Read, override and validate a recipe file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"recipe not found: {path}")
    text = yamlsafe.read_text(path)
    raw = yamlsafe.loads(text, str(path)) or {}  # no aliases, no duplicate keys, no tags
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a recipe is a mapping of sections (model, data, rewards, grpo, ...)")
    texts = apply_overrides(raw, overrides or [])
    _data_source_overrides(raw, overrides or [])
    return recipe_from_dict(raw, source=str(path), lines=yamlsafe.key_lines(text), texts=texts)


DATA_SOURCES = ("prepared", "path", "synthetic", "sample")


def _data_source_overrides(raw: dict[str, Any], overrides: list[str]) -> None:
    """A ``--set data.<source>=...`` replaces the recipe file's data source (``--set
    data.path=x.jsonl`` on a recipe with ``data.synthetic: 512`` trains on x.jsonl); two
    overrides naming different sources are a conflict, reported with both ``--set``s."""
    given: dict[str, str] = {}
    for text in overrides:
        key, value = parse_override(text)
        parts = key.split(".")
        if len(parts) == 2 and parts[0] == "data" and parts[1] in DATA_SOURCES:
            if value in (None, False):
                given.pop(parts[1], None)
            else:
                given[parts[1]] = text
    if len(given) > 1:
        sets = " and ".join(f'--set "{t}"' for t in given.values())
        raise ConfigError(f"{sets} name two training data sources; keep one of them")
    data = raw.get("data")
    if given and isinstance(data, dict):
        for other in DATA_SOURCES:
            if other not in given:
                data.pop(other, None)


def recipe_from_dict(
    raw: dict[str, Any],
    source: str | None = None,
    lines: dict[str, int] | None = None,
    texts: dict[str, str] | None = None,
) -> Recipe:
    """Validate a raw mapping (unknown keys, types) and build the :class:`Recipe`.
    ``texts``: ``--set`` values as typed (see :func:`apply_overrides`)."""
    ctx = Where(source or "<recipe>", lines, texts)
    check_numbers(raw, ctx.where)
    known = [f.name for f in dataclasses.fields(Recipe) if f.name != "source"]
    for key in raw:
        if key not in known:
            ctx.unknown(key, known)
    kw: dict[str, Any] = {"source": source}
    for name, cls in (("model", ModelSection), ("peft", PeftSection)):
        kw[name] = build(cls, raw.get(name), name, ctx)
    warm = dict(mapping(raw.get("warmup"), "warmup", ctx))
    if "from" in warm:  # a Python keyword: the dataclass field is `from_`
        warm["from_"] = warm.pop("from")
    kw["warmup"] = build(WarmupSection, warm, "warmup", ctx)
    kw["guard"] = build(GuardSection, raw.get("guard"), "guard", ctx)
    kw["validation"] = build(ValidationSection, raw.get("validation"), "validation", ctx)
    data_raw = dict(mapping(raw.get("data"), "data", ctx))
    prompt = build(PromptConfig, data_raw.pop("prompt", None), "data.prompt", ctx)
    kw["data"] = build(DataSection, data_raw, "data", ctx)
    kw["data"].prompt = prompt
    if "rewards" in raw:
        rewards = raw["rewards"]
        if isinstance(rewards, str):  # a preset: rewards: seed
            from medzero.rewards import resolve_rewards

            try:
                rewards = resolve_rewards(rewards)
            except ConfigError as exc:
                raise ConfigError(f"{ctx.where('rewards')}: {exc}") from None
        rewards = mapping(rewards, "rewards", ctx)
        kw["rewards"] = {str(k): coerce(v, float, f"rewards.{k}", ctx) for k, v in rewards.items()}
    kw["reward_params"] = dict(mapping(raw.get("reward_params"), "reward_params", ctx))
    grpo = dict(mapping(raw.get("grpo"), "grpo", ctx))
    if "reward_weights" in grpo:  # medzero sets it from `rewards:` (one place for names and weights)
        raise ConfigError(
            f'{ctx.where("grpo.reward_weights")}: "grpo.reward_weights" is set by medzero from the '
            '"rewards:" section; give the weights there, e.g. rewards: {accuracy: 1.0, format: 0.2}'
        )
    if grpo:
        fields = grpo_fields()
        for key, value in list(grpo.items()):
            if key not in fields:
                ctx.unknown(f"grpo.{key}", [f"grpo.{n}" for n in fields], hint=" (see trl.GRPOConfig)")
            grpo[key] = coerce(value, fields[key], f"grpo.{key}", ctx)
    kw["grpo"] = grpo
    kw["tools"] = _tools(raw.get("tools"), grpo, ctx)
    for name in ("curriculum", "dynamic_sampling"):  # checked by medzero.curriculum.parse_sections
        kw[name] = dict(mapping(raw[name], name, ctx)) if raw.get(name) is not None else None
    recipe = Recipe(**kw)
    _validate(recipe, ctx)
    parse_sections(recipe, where=ctx.source)
    return recipe


def _validate(recipe: Recipe, ctx: Where) -> None:
    check_ranges(recipe, ctx.where)
    if not recipe.model.name_or_path and not recipe.model.gguf_file:
        raise ConfigError(f'{ctx.source}: "model.name_or_path" (or "model.gguf_file") is required')
    d = recipe.data
    given = [k for k in DATA_SOURCES if getattr(d, k) not in (None, False)]
    if len(given) != 1:
        raise ConfigError(
            f'{ctx.source}: "data" needs exactly one of prepared, path, synthetic or sample (got {given or "none"})'
        )
    choices = {
        "data.prompt_overflow": (d.prompt_overflow, ("drop", "truncate", "truncate_left")),
        "guard.action": (recipe.guard.action, ("off", "warn", "stop")),
        "model.dtype": (recipe.model.dtype, ("auto", "float32", "bfloat16", "float16")),
    }
    for key, (value, allowed) in choices.items():
        if value not in allowed:
            raise ConfigError(f'{ctx.where(key)}: "{key}" is {value!r}; expected one of {", ".join(allowed)}')
    if not recipe.rewards:
        raise ConfigError(f'{ctx.source}: "rewards" is empty; give at least one {{name: weight}}')
    recipe.validation.check(ctx.where)
    if recipe.grpo.get("deepspeed") is not None:  # the file must exist and parse (medzero.train.scale)
        from medzero.train.scale import recipe_setup

        recipe_setup(recipe.grpo, recipe.source, ctx.where("grpo.deepspeed"))


def _tools(value: Any, grpo: dict[str, Any], ctx: Where) -> ToolsSection | None:
    if value is None:
        return None
    raw = mapping(value, "tools", ctx)
    for key in raw:
        if key != "search":
            ctx.unknown(f"tools.{key}", ["tools.search"])
    if raw.get("search") is None:
        raise ConfigError(
            f'{ctx.where("tools")}: "tools" names no tool; give tools: {{search: {{index: INDEX}}}}'
        )
    if "max_tool_calling_iterations" in grpo:  # one place for the limit
        raise ConfigError(
            f'{ctx.where("grpo.max_tool_calling_iterations")}: set the limit as "tools.search.max_calls"; '
            "medzero passes it to TRL as max_tool_calling_iterations"
        )
    try:
        return ToolsSection(search=build(SearchToolConfig, raw["search"], "tools.search", ctx))
    except ConfigError as exc:
        if str(exc).startswith(ctx.source):  # already located (an unknown key)
            raise
        raise ConfigError(f"{ctx.where('tools.search')}: {exc}") from None

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

Modules: this one (the :class:`Recipe` and reading it), :mod:`.recipe_sections` (the plain
sections), :mod:`.recipe_overrides` (``--set``), :mod:`.recipe_rules` (value rules) and
:mod:`medzero.sections` (building typed sections with located errors).
"""

from __future__ import annotations

import dataclasses
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from medzero import yamlsafe
from medzero.curriculum import parse_sections
from medzero.data.prompts import PromptConfig
from medzero.errors import ConfigError
from medzero.rewards.weights import DEFAULT_WEIGHTS
from medzero.sections import Where, build, coerce, mapping
from medzero.tools.search import SearchToolConfig, ToolsSection
from medzero.train.recipe_overrides import (
    DATA_SOURCES,
    apply_overrides,
    data_source_overrides,
    parse_override,
)
from medzero.train.recipe_rules import check_numbers, check_ranges
from medzero.train.recipe_sections import DataSection, GuardSection, ModelSection, PeftSection, WarmupSection
from medzero.train.validation import ValidationSection

__all__ = [
    "DATA_SOURCES",
    "GRPO_DEFAULTS",
    "DataSection",
    "GuardSection",
    "ModelSection",
    "PeftSection",
    "Recipe",
    "ValidationSection",
    "WarmupSection",
    "apply_overrides",
    "grpo_fields",
    "load_recipe",
    "parse_override",
    "recipe_from_dict",
]

# medzero's own GRPOConfig defaults (TRL's are tuned for GPUs and big models); a recipe overrides them.
GRPO_DEFAULTS: dict[str, Any] = {
    "logging_steps": 1,  # metrics.jsonl holds one line per optimizer step
    "report_to": "none",
    "disable_tqdm": True,  # medzero shows its own progress bar
    "save_strategy": "steps",
    "save_steps": 100,
}


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


def grpo_fields() -> dict[str, Any]:
    """``name -> type`` of every trl.GRPOConfig field (imports TRL: a few seconds)."""
    from trl import GRPOConfig

    hints = typing.get_type_hints(GRPOConfig)
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(GRPOConfig) if f.init}


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
    data_source_overrides(raw, overrides or [])
    return recipe_from_dict(raw, source=str(path), lines=yamlsafe.key_lines(text), texts=texts)


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
    targets = recipe.peft.target_modules
    if isinstance(targets, str) and targets != "all-linear":  # PEFT reads any other string as a regex
        try:
            re.compile(targets)
        except re.error as exc:
            raise ConfigError(
                f'{ctx.where("peft.target_modules")}: "peft.target_modules" {targets!r} is not a valid '
                f"regular expression ({exc}); give 'all-linear', a list of module names, or a regex"
            ) from None
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

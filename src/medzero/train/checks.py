"""Pre-flight checks of a training recipe, run before any model weights are loaded.

Each check returns :class:`Finding`s with a severity: ``error`` stops the run (before the model is
loaded), ``warning`` and ``info`` are printed. ``medzero train --check`` runs only these.

What the checks look at is gathered cheaply into a :class:`Context`: the model's ``config.json``
(no weights), module names from a meta-device instance (no memory), the tokenizer (for the chat
template) and the dataset's column names.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from medzero.train.recipe import Recipe
from medzero.train.scale import DeepSpeedSetup

Severity = Literal["error", "warning", "info"]

# Learning rates "far outside" what GRPO runs use (full fine-tuning ~1e-7..5e-5, LoRA up to ~5e-4;
# tiny from-scratch models up to ~1e-3).
LR_FAR_LOW, LR_FAR_HIGH = 1e-8, 2e-3


@dataclass(frozen=True)
class Finding:
    """One check result."""

    check: str
    severity: Severity
    message: str


@dataclass
class Context:
    """What the checks know about the world; ``None`` means 'unknown, skip that check'."""

    world_size: int = 1
    has_cuda: bool = False
    model_config: dict[str, Any] | None = None
    module_names: list[str] | None = None
    tokenizer: Any = None
    columns: list[str] | None = None
    num_prompts: int | None = None
    reward_funcs: list[Any] = field(default_factory=list)
    deepspeed: DeepSpeedSetup | None = None
    prompt_form: Any = None  # medzero.data.prompts.PromptForm


def effective_grpo(recipe: Recipe) -> dict[str, Any]:
    """GRPOConfig values the run will use: TRL's defaults < medzero's < the recipe's."""
    import dataclasses

    from trl import GRPOConfig

    defaults = {
        f.name: f.default for f in dataclasses.fields(GRPOConfig) if f.default is not dataclasses.MISSING
    }
    return {**defaults, **recipe.grpo_kwargs()}


def batch_findings(g: dict[str, Any], world_size: int) -> list[Finding]:
    """TRL's batch rules, explained in words, with a concrete fix."""
    out: list[Finding] = []
    n_gen = g.get("num_generations") or 0
    if n_gen < 2:
        return [
            Finding(
                "num_generations",
                "error",
                f"num_generations is {n_gen}: GRPO scores each answer against the other answers to the same "
                "question, so it needs at least 2 per question (4-16 is usual).",
            )
        ]
    per_dev = int(g.get("per_device_train_batch_size") or 1)
    accum = int(g.get("gradient_accumulation_steps") or 1)
    per_step = per_dev * world_size
    gen_bs, spg = g.get("generation_batch_size"), g.get("steps_per_generation")
    if gen_bs is not None and spg is not None:
        return [Finding("batch", "error", "set generation_batch_size or steps_per_generation, not both")]
    if gen_bs is None:
        spg = spg or accum
        gen_bs = per_step * spg
    elif gen_bs % per_step:
        return [
            Finding(
                "batch",
                "error",
                f"generation_batch_size {gen_bs} must be a multiple of per_device_train_batch_size x processes "
                f"= {per_dev} x {world_size} = {per_step}: each generated batch is cut into equal device batches.",
            )
        ]
    else:
        spg = gen_bs // per_step
    if gen_bs % n_gen:
        step = math.lcm(n_gen, per_step)
        fix = step * math.ceil(gen_bs / step)
        out.append(
            Finding(
                "batch",
                "error",
                f"TRL generates {gen_bs} completions at a time (per_device_train_batch_size {per_dev} x "
                f"{world_size} process(es) x {spg} steps per generation). Batch sizes count completions, "
                f"not questions, and each question needs all of its num_generations={n_gen} answers in the "
                f"same batch, so {gen_bs} must be a multiple of {n_gen}. Fix: set "
                f"grpo.generation_batch_size={fix} (or make per_device_train_batch_size x processes x "
                f"gradient_accumulation_steps a multiple of {n_gen}).",
            )
        )
        return out
    out.append(
        Finding(
            "batch",
            "info",
            f"{gen_bs // n_gen} questions x {n_gen} completions generated per generation round; "
            f"{per_step * accum} completions per optimizer step.",
        )
    )
    out += _generation_vs_accumulation(gen_bs, spg, accum)
    return out


def _generation_vs_accumulation(gen_bs: int, spg: int, accum: int) -> list[Finding]:
    """How generation rounds (``spg`` micro-batches each) line up with optimizer steps (``accum``
    micro-batches each). A round whose micro-batches fall on both sides of an update trains the
    later ones on completions the earlier policy sampled (off-policy); that happens unless ``spg``
    divides ``accum``. When it does and ``spg < accum``, a step just gathers several rounds."""
    if spg == accum:
        return []
    if accum % spg == 0:
        return [
            Finding(
                "batch",
                "info",
                f"an optimizer step takes {accum} micro-batches (gradient_accumulation_steps) and one "
                f"generation round of {gen_bs} completions feeds {spg}: each step gathers "
                f"{accum // spg} rounds, all sampled by the current policy (on-policy; generation just "
                "runs in smaller batches).",
            )
        ]
    # micro-batch i belongs to round i // spg and optimizer step i // accum; the pattern repeats
    # every lcm(spg, accum) micro-batches
    span = max(
        ((k + 1) * spg - 1) // accum - (k * spg) // accum + 1 for k in range(math.lcm(spg, accum) // spg)
    )
    return [
        Finding(
            "batch",
            "warning",
            f"one generation round of {gen_bs} completions feeds {spg} micro-batches but an optimizer "
            f"step takes {accum} (gradient_accumulation_steps), and {spg} does not divide {accum}: a "
            f"round's micro-batches fall into up to {span} optimizer steps, so those after an update "
            f"train on completions sampled by a policy up to {span - 1} update(s) old (slightly "
            f"off-policy). Set gradient_accumulation_steps={spg} "
            "to match (one round per optimizer step).",
        )
    ]


def _lr(g: dict[str, Any], recipe: Recipe) -> list[Finding]:
    lr = float(g.get("learning_rate") or 0.0)
    if not math.isfinite(lr) or lr <= 0:
        return [Finding("learning_rate", "error", f"learning_rate is {lr}; it must be a finite number > 0")]
    if lr < LR_FAR_LOW or lr > LR_FAR_HIGH:
        usual = "1e-5..5e-4 for LoRA" if recipe.peft.active else "1e-7..5e-5 for full fine-tuning"
        return [
            Finding(
                "learning_rate",
                "warning",
                f"learning_rate {lr:g} is far outside the usual GRPO range ({usual}); "
                "too high collapses the policy, too low learns nothing.",
            )
        ]
    return []


def context_length(cfg: dict[str, Any]) -> int | None:
    """``max_position_embeddings`` of a config dict (or of its ``text_config`` for multimodal models)."""
    for c in (cfg, cfg.get("text_config") or {}):
        for key in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
            if isinstance(c.get(key), int):
                return c[key]
    return None


def _context(g: dict[str, Any], recipe: Recipe, ctx: Context) -> list[Finding]:
    if ctx.model_config is None:
        return [Finding("context", "info", "model config not available locally: context length not checked")]
    n_ctx = context_length(ctx.model_config)
    comp = int(g.get("max_completion_length") or 0)
    prompt = recipe.data.prompt_max_tokens or 0
    if n_ctx is None:
        return []
    if comp > n_ctx:
        return [
            Finding(
                "context",
                "error",
                f"max_completion_length {comp} exceeds the model's context ({n_ctx} tokens, "
                "max_position_embeddings in config.json).",
            )
        ]
    if comp + prompt > n_ctx:
        return [
            Finding(
                "context",
                "warning",
                f"prompt cap {prompt} + max_completion_length {comp} = {prompt + comp} exceeds the model's "
                f"context ({n_ctx} tokens): long prompts will leave less room for the answer.",
            )
        ]
    return []


def _lora(recipe: Recipe, ctx: Context) -> list[Finding]:
    p = recipe.peft
    if not p.active or p.target_modules == "all-linear" or ctx.module_names is None:
        return []
    if isinstance(p.target_modules, str):  # a regular expression, full-matched by PEFT against module names
        import re

        hits = [n for n in ctx.module_names if re.fullmatch(p.target_modules, n)]
        if not hits:
            return [
                Finding(
                    "lora_targets",
                    "error",
                    f"peft.target_modules {p.target_modules!r} (a regular expression PEFT full-matches "
                    f"against module names) matches no module of the model; names look like "
                    f"{', '.join(ctx.module_names[-3:])}.",
                )
            ]
        return [Finding("lora_targets", "info", f"LoRA adapts {len(hits)} modules, e.g. {hits[0]}")]
    suffixes = {n.rsplit(".", 1)[-1] for n in ctx.module_names}
    missing = [
        t for t in p.target_modules if t not in suffixes and not any(n.endswith(t) for n in ctx.module_names)
    ]
    if not missing:
        return []
    linear = sorted(s for s in suffixes if s.endswith("proj") or s in ("fc1", "fc2", "lm_head", "c_attn"))
    return [
        Finding(
            "lora_targets",
            "error",
            f"peft.target_modules {missing} do not exist in the model. Module names that do: "
            f"{', '.join(linear) or ', '.join(sorted(suffixes)[:20])} (or use 'all-linear').",
        )
    ]


def _device(g: dict[str, Any], recipe: Recipe, ctx: Context) -> list[Finding]:
    if ctx.has_cuda:
        return []
    out = []
    if recipe.grpo.get("bf16") is True:
        out.append(
            Finding(
                "bf16",
                "error",
                "bf16 is requested but there is no GPU: CPU training needs fp32. Use --set grpo.bf16=false.",
            )
        )
    if g.get("use_vllm"):
        out.append(
            Finding("vllm", "error", "use_vllm needs a CUDA GPU; use --set grpo.use_vllm=false on CPU.")
        )
    if recipe.model.dtype in ("bfloat16", "float16"):
        out.append(
            Finding(
                "dtype", "warning", f"model.dtype {recipe.model.dtype} on a CPU is slow; float32 is usual."
            )
        )
    return out


def _quant(recipe: Recipe) -> list[Finding]:
    if not recipe.peft.load_in_4bit:
        return []
    import importlib.util

    if importlib.util.find_spec("bitsandbytes") is None:
        return [
            Finding("qlora", "error", "peft.load_in_4bit needs bitsandbytes: pip install 'medzero[qlora]'")
        ]
    return []


def _rewards(recipe: Recipe, ctx: Context) -> list[Finding]:
    from medzero import rewards as R

    out: list[Finding] = []
    for name in recipe.rewards:
        R.REWARDS.get(name)  # unknown names raise ConfigError with a suggestion
    for msg in R.check_reward_weights(recipe.rewards, recipe.reward_params) or []:
        out.append(Finding("reward_weights", "warning", str(msg)))
    if ctx.columns is not None:
        need = required_columns(ctx.reward_funcs or [R.REWARDS.get(n) for n in recipe.rewards])
        missing = sorted(need - set(ctx.columns))
        if missing:
            out.append(
                Finding(
                    "columns",
                    "error",
                    f"the rewards need dataset column(s) {missing}, which the training data lacks "
                    f"(it has {sorted(ctx.columns)}).",
                )
            )
    return out


def required_columns(funcs: list[Any]) -> set[str]:
    """Dataset columns reward functions take as required keyword arguments (TRL passes columns by name)."""
    passed_by_trl = {"prompts", "completions", "completion_ids", "trainer_state", "log_extra", "log_metric"}
    need: set[str] = set()
    for fn in funcs:
        if getattr(fn, "uses_answer", False):  # medzero rewards read the gold letter and the options
            need |= {"answer", "options"}
        target = fn if inspect.isfunction(fn) or inspect.ismethod(fn) else type(fn).__call__
        for p in inspect.signature(target).parameters.values():
            if p.name in passed_by_trl or p.name == "self" or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                continue
            if p.default is inspect.Parameter.empty:
                need.add(p.name)
    return need


def _data_size(g: dict[str, Any], ctx: Context) -> list[Finding]:
    if not ctx.num_prompts:
        return (
            [Finding("data", "error", "the training data has no questions")] if ctx.num_prompts == 0 else []
        )
    per_round = (g.get("generation_batch_size") or 0) // max(1, g.get("num_generations") or 1)
    if per_round and ctx.num_prompts < per_round:
        return [
            Finding(
                "data",
                "warning",
                f"only {ctx.num_prompts} questions but {per_round} are used per generation round.",
            )
        ]
    return []


def run_checks(recipe: Recipe, ctx: Context) -> list[Finding]:
    """All checks, errors first."""
    g = effective_grpo(recipe)
    found = batch_findings(g, ctx.world_size)
    if not g.get("generation_batch_size"):
        spg = g.get("steps_per_generation") or g["gradient_accumulation_steps"]
        g["generation_batch_size"] = g["per_device_train_batch_size"] * ctx.world_size * spg
    found += _lr(g, recipe)
    found += _context(g, recipe, ctx)
    from medzero.train.checks_prompt import prompt_findings  # it imports this module

    found += prompt_findings(recipe, ctx)
    found += _lora(recipe, ctx)
    found += _device(g, recipe, ctx)
    found += _quant(recipe)
    found += _rewards(recipe, ctx)
    found += _data_size(g, ctx)
    from medzero.train.checks_scale import scale_findings  # it imports this module

    found += scale_findings(g, recipe, ctx)
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(found, key=lambda f: order[f.severity])


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]

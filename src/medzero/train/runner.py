"""``medzero train``: a thin layer over TRL's ``GRPOTrainer``.

Order of work: pre-flight (checks; fatal ones stop before any weights load) -> optional format
warm-up -> load model (+LoRA / 4-bit QLoRA) -> ``MedzeroGRPOTrainer`` with medzero's callbacks ->
``train()`` (from the last checkpoint with ``resume=True``). The run directory layout is
documented in ``docs/run-format.md``.
"""

from __future__ import annotations

import inspect
import json
import time
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

from medzero import __version__
from medzero.console import console
from medzero.errors import ConfigError
from medzero.jsonl import write_json_atomic, write_text_atomic
from medzero.outdir import atomic_dir
from medzero.registry import did_you_mean
from medzero.train.callbacks import (
    COMPLETIONS_FILE,
    METRICS_FILE,
    CompletionsWriter,
    MetricsCallback,
    RichProgressCallback,
)
from medzero.train.checks import errors
from medzero.train.guard import CollapseGuard
from medzero.train.modelcard import CardInfo, write_model_card
from medzero.train.preflight import (
    WARMUP_DIR,
    Preflight,
    attn_implementation,
    has_cuda,
    preflight,
    reward_params,
    run_seed,
    warmup_source,
    world_size,
)
from medzero.train.recipe import Recipe
from medzero.train.rundir import CONFIG_FILE, check_resume_recipe, model_dir_complete, prepare_run_dir
from medzero.train.scale import deepspeed_requested, init_cpu_deepspeed, resolve_recipe_deepspeed

RUN_INFO_FILE = "run_info.json"
# Arguments of run_format_warmup that medzero fills in itself.
_WARMUP_OWN_ARGS = ("model_dir", "questions", "out_dir", "prompt_cfg", "on_step")


def print_findings(findings: list[Any]) -> None:
    style = {"error": "bold red", "warning": "yellow", "info": "dim"}
    for f in findings:
        console.print(
            f"[{style[f.severity]}]{f.severity}[/] [bold]{f.check}[/]: {f.message}", highlight=False
        )


def run_warmup(recipe: Recipe, pre: Preflight, out: Path, cfg: Any) -> str:
    """Run the format warm-up once (rank 0 first; the others and resumed runs reuse its output)."""
    from medzero.train.warmup import run_format_warmup

    allowed = [n for n in inspect.signature(run_format_warmup).parameters if n not in _WARMUP_OWN_ARGS]
    for key in recipe.warmup.params:
        if key not in allowed:
            raise ConfigError(f'unknown key "warmup.params.{key}".{did_you_mean(key, allowed)}')
    if recipe.warmup.from_:
        reused = warmup_source(recipe)
        console.print(f"format warm-up: reusing {reused} (warmup.from)")
        return str(reused)
    target = out / WARMUP_DIR
    params = {"seed": run_seed(recipe), **recipe.warmup.params}
    with cfg.main_process_first(desc="format warm-up"):
        if not model_dir_complete(target):
            # built under a temporary name, renamed when complete: a kill never leaves half a warm-up
            console.print(f"format warm-up -> {target}")
            with atomic_dir(target) as tmp:
                run_format_warmup(pre.model_path, pre.questions, tmp, prompt_cfg=recipe.data.prompt, **params)
    return str(target)


def _torch_dtype(name: str) -> Any:
    import torch

    return "auto" if name == "auto" else getattr(torch, name)


def load_model(
    recipe: Recipe, path: str, gradient_checkpointing: bool, vision: bool = False
) -> tuple[Any, Any]:
    """The policy model and, for LoRA/QLoRA, the ``LoraConfig`` TRL wraps it with. ``vision``:
    image questions, loaded with ``AutoModelForImageTextToText``."""
    from transformers import AutoModelForCausalLM, AutoModelForImageTextToText

    m, p = recipe.model, recipe.peft
    kw: dict[str, Any] = {
        "revision": m.revision,
        "trust_remote_code": m.trust_remote_code,
        "dtype": _torch_dtype(m.dtype),
    }
    attn, _ = attn_implementation(recipe)  # the fallback was reported by the pre-flight checks
    if attn:
        kw["attn_implementation"] = attn
    if p.load_in_4bit:
        from transformers import BitsAndBytesConfig

        kw["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type=p.bnb_4bit_quant_type,
            bnb_4bit_compute_dtype=_torch_dtype(p.bnb_4bit_compute_dtype),
            bnb_4bit_use_double_quant=p.bnb_4bit_use_double_quant,
        )
    from medzero.models.local import loading

    auto = AutoModelForImageTextToText if vision else AutoModelForCausalLM
    with loading('"model.name_or_path"', path):
        model = auto.from_pretrained(path, **kw)
    if not p.active:
        return model, None
    from peft import LoraConfig, prepare_model_for_kbit_training

    if p.load_in_4bit:
        _keep_4bit_trainable(model)
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=gradient_checkpointing)
    lora = LoraConfig(
        r=p.r,
        lora_alpha=p.lora_alpha,
        lora_dropout=p.lora_dropout,
        target_modules=p.target_modules,
        task_type="CAUSAL_LM",
    )
    return model, lora


def _keep_4bit_trainable(model: Any) -> None:
    """bitsandbytes on CPUs with AVX512-BF16 repacks 4-bit weights for inference at the first
    eval-mode forward without gradients (e.g. a ``generate`` before training); the packed kernel
    has no backward, so LoRA layers below it get no gradients. GRPO generates before every step,
    so repacking is switched off here."""
    for module in model.modules():
        if hasattr(module, "support_avx512bf16_for_cpu"):
            module.support_avx512bf16_for_cpu = False


def grpo_config(recipe: Recipe, out: Path, cuda: bool) -> Any:
    """TRL's config for the recipe. Under DeepSpeed without CUDA, accelerate's process state is set
    up first (medzero.train.scale.init_cpu_deepspeed) and ``use_cpu`` is off: DeepSpeed's CPU
    accelerator places the tensors."""
    from trl import GRPOConfig

    kw = recipe.grpo_kwargs()
    kw["output_dir"] = str(out)
    ds_file = resolve_recipe_deepspeed(kw.get("deepspeed"), recipe.source)
    if ds_file is not None:
        kw["deepspeed"] = str(ds_file)
    if not cuda and deepspeed_requested(kw):
        if kw.get("use_cpu"):
            console.print(
                "DeepSpeed on CPU: grpo.use_cpu is set to false (DeepSpeed's CPU accelerator is used)"
            )
        kw.update(init_cpu_deepspeed())
        kw.setdefault("bf16", False)
    elif not cuda:
        kw.setdefault("use_cpu", True)
        kw.setdefault("bf16", False)
    try:
        return GRPOConfig(**kw)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"grpo: {exc}") from None


def _run_info(recipe: Recipe, pre: Preflight, out: Path, cfg: Any, resumed: tuple[Path, int] | None) -> dict:
    import torch
    import transformers
    import trl

    path = out / RUN_INFO_FILE
    info = json.loads(path.read_text(encoding="utf-8")) if resumed and path.is_file() else {}
    info.update(
        {
            "medzero_version": __version__,
            "versions": {
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "trl": trl.__version__,
            },
            "recipe": recipe.source,
            "model": recipe.model.name_or_path,
            "model_path": pre.model_path,
            "world_size": world_size(),
            "device": "cuda" if torch.cuda.is_available() else "cpu",
            "num_questions": len(pre.rows),
            "prompt_cap": asdict(pre.report),
            "think_preopened": pre.think_preopened,
            "prompt_form": pre.form.name if pre.form else None,
            "reward_weights": recipe.rewards,
            "num_generations": cfg.num_generations,
            "generation_batch_size": cfg.generation_batch_size,
            "checks": [asdict(f) for f in pre.findings],
            "status": "running",
        }
    )
    if pre.validation is not None:
        v = recipe.validation
        info["validation"] = {
            "benchmark": pre.validation.benchmark.name,
            "path": str(pre.validation.path),
            "n": len(pre.validation.records),
            "every": v.every,
            "max_new_tokens": v.max_new_tokens or cfg.max_completion_length,
        }
    info.setdefault("started", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    if resumed:
        name = resumed[0].name if resumed[0] else None  # None: restarted before the first checkpoint
        info.setdefault("resumed_from", []).append({"checkpoint": name, "step": resumed[1]})
    return info


def build_tools(recipe: Recipe, cfg: Any) -> list[Any]:
    """The functions for TRL's ``tools=`` (empty without a ``tools:`` section); sets
    ``cfg.max_tool_calling_iterations`` from ``tools.search.max_calls``."""
    if recipe.tools is None or recipe.tools.search is None:
        return []
    from medzero.tools.search import SearchTool

    base = Path(recipe.source).parent if recipe.source else None
    tool = SearchTool(recipe.tools.search, base)
    len(tool.index)  # load now: a bad index fails before the model loads
    cfg.max_tool_calling_iterations = recipe.tools.search.max_calls
    return [tool.function()]


def train(
    recipe: Recipe,
    out: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
    callbacks: list[Any] | None = None,
) -> dict[str, Any]:
    """Run (or resume) a training run into ``out``; returns the final ``run_info`` dict.
    ``callbacks``: extra ``transformers.TrainerCallback``s (benchmarks, experiments)."""
    from transformers.utils import logging as hf_logging

    # TRL 1.16 still passes `gradient_checkpointing`, renamed in transformers 5: the rename warning
    # fires on every run and is not the user's to fix.
    warnings.filterwarnings(
        "ignore", message=r".*gradient_checkpointing.* is deprecated", category=FutureWarning
    )

    from medzero.curriculum import apply as apply_curriculum
    from medzero.rewards import build_reward_funcs
    from medzero.train.dataset import to_dataset
    from medzero.train.trainer import MedzeroGRPOTrainer

    hf_logging.disable_progress_bar()  # weight loading/saving bars; medzero shows one bar for training
    out = Path(out)
    if resume:  # refuse a changed recipe before anything loads (read-only: every rank may check)
        check_resume_recipe(out, recipe)
    pre = preflight(recipe, for_training=True)
    print_findings(pre.findings)
    if not pre.ok:
        raise ConfigError(f"{len(errors(pre.findings))} fatal check(s) failed; nothing was loaded")
    console.print(pre.report.describe())
    # GRPOConfig sets up the (possibly multi-process) accelerate state: nothing may touch it before.
    cfg = grpo_config(recipe, out, has_cuda())
    main = cfg.process_index == 0
    with cfg.main_process_first(desc="run directory"):
        out.mkdir(parents=True, exist_ok=True)
        resumed = prepare_run_dir(out, resume, main)
        if main:  # recorded first: what the run follows (on resume, with the allowed changes applied)
            write_text_atomic(out / CONFIG_FILE, recipe.to_yaml())
    # curriculum / dynamic sampling (docs/curriculum.md); checked against the rows before loading
    trainer_cls = apply_curriculum(MedzeroGRPOTrainer, recipe, pre.rows, cfg)
    model_path = run_warmup(recipe, pre, out, cfg) if recipe.warmup.active else pre.model_path
    model, lora = load_model(recipe, model_path, cfg.gradient_checkpointing, pre.processor is not None)
    funcs, weights = build_reward_funcs(recipe.rewards, reward_params(recipe, pre.think_preopened))
    cfg.reward_weights = list(weights)

    info = _run_info(recipe, pre, out, cfg, resumed)
    info["loaded_in_4bit"] = bool(getattr(model, "is_loaded_in_4bit", False))
    if main:
        write_json_atomic(out / RUN_INFO_FILE, info)
    tools = build_tools(recipe, cfg)
    writer = (
        CompletionsWriter(
            out / COMPLETIONS_FILE, dict(zip(recipe.rewards, weights, strict=True)), tools=bool(tools)
        )
        if main
        else None
    )
    metrics = MetricsCallback(out / METRICS_FILE)
    guard = CollapseGuard(
        recipe.guard.action, recipe.guard.patience, recipe.guard.threshold, cfg.max_completion_length
    )
    card = card_info(recipe, info, lora is not None)
    validator = _validation_callback(recipe, pre, out, metrics, card)
    callbacks = [*([validator] if validator else []), metrics, guard, *(callbacks or [])]
    callbacks += [RichProgressCallback()] if progress else []
    trainer = trainer_cls(
        model=model,
        reward_funcs=list(funcs),
        args=cfg,
        train_dataset=to_dataset(pre.rows, recipe.data.image_max_pixels),
        processing_class=pre.processing_class,
        peft_config=lora,
        callbacks=callbacks,
        reward_names=list(recipe.rewards),
        completions_writer=writer,
        tools=tools or None,
        stop_text=pre.form.stop if pre.form else None,
    )
    trainer.think_preopened = pre.think_preopened
    trainer.answer_observers.append(guard.observe)
    trainer.model_card_writer = lambda folder: write_model_card(folder, card, f"{out.name} (training run)")
    if validator is not None:
        validator.bind(trainer)
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    for cb in (PrinterCallback, ProgressCallback):
        trainer.remove_callback(cb)
    try:
        trainer.train(resume_from_checkpoint=str(resumed[0]) if resumed and resumed[0] else None)
        status = "stopped" if guard.fired_at is not None and guard.action == "stop" else "finished"
    except BaseException:
        info["status"] = "failed"
        if main:
            write_json_atomic(out / RUN_INFO_FILE, info)
        raise
    finally:
        if writer is not None:
            writer.close()
    trainer.save_model(str(out / "final"))
    info.update(
        status=status,
        finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        global_step=trainer.state.global_step,
        summary=metrics.summary,
        collapse_guard_fired_at=guard.fired_at,
    )
    if guard.fired_at is not None:
        info["collapse_guard"] = {"step": guard.fired_at, "causes": guard.causes, "message": guard.message}
    if validator is not None:
        info["best"] = validator.best.info
        if validator.early_stop:
            info["early_stop"] = validator.early_stop
    if main:
        write_json_atomic(out / RUN_INFO_FILE, info)
        pre.processing_class.save_pretrained(str(out / "final"))
        write_model_card(
            out / "final",
            card,
            f"{out.name}/final",
            [f"the model after the last step ({info['global_step']})"],
        )
    _close_process_group()
    return info


def _close_process_group() -> None:
    """End a multi-process run cleanly: wait for every rank, then destroy the process group.
    Left to interpreter exit, gloo's threads can be torn down mid-flight and a rank aborts
    ("terminate called without an active exception", SIGABRT) after a run that succeeded."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def card_info(recipe: Recipe, info: dict[str, Any], lora: bool) -> CardInfo:
    return CardInfo(
        base_model=recipe.model.name_or_path,
        recipe=recipe.source,
        warmup=recipe.warmup.enabled,
        lora=lora,
        versions={"medzero": __version__, **info.get("versions", {})},
    )


def _validation_callback(
    recipe: Recipe, pre: Preflight, out: Path, metrics: MetricsCallback, card: CardInfo
) -> Any:
    """The :class:`ValidationCallback` of a recipe with a ``validation:`` section, else ``None``."""
    if pre.validation is None:
        return None
    from medzero.train.validation_callback import ValidationCallback

    def finish_best(folder: Path, best: dict[str, Any]) -> None:
        pre.processing_class.save_pretrained(str(folder))
        detail = (
            f"selected by validation: strict accuracy {best['score']:.4f} on {best['scores']['eval/n']} "
            f"questions of {best['benchmark']} at step {best['step']} (see best.json)"
        )
        write_model_card(folder, card, f"{out.name}/best", [detail])

    return ValidationCallback(
        recipe.validation,
        pre.validation.records,
        benchmark=pre.validation.benchmark.name,
        prompt=recipe.data.prompt,
        run_dir=out,
        write_metrics=metrics.write,
        finish_best=finish_best,
    )

"""Pre-flight checks for the scale path: DeepSpeed configurations and multi-process launches.

Part of ``medzero train --check`` (see :mod:`medzero.train.checks`); the DeepSpeed configuration
comes from the launcher's environment, ``grpo.deepspeed`` or ``--accelerate-config`` as
:class:`~medzero.train.scale.DeepSpeedSetup`. A config file that is missing or does not parse is
already a located ``ConfigError`` when it is read.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from medzero.train.checks import Context, Finding
from medzero.train.recipe import Recipe
from medzero.train.scale import DeepSpeedSetup


def scale_findings(g: dict[str, Any], recipe: Recipe, ctx: Context) -> list[Finding]:
    """All scale-path checks; ``g`` is the effective GRPOConfig mapping with the generation batch filled in."""
    ds: DeepSpeedSetup | None = ctx.deepspeed
    out = _launch(recipe, ctx)
    if ds is None:
        return out
    if importlib.util.find_spec("deepspeed") is None:
        out.append(
            Finding(
                "deepspeed",
                "error",
                f"DeepSpeed is requested ({ds.source}) but not installed: pip install 'medzero[deepspeed]'",
            )
        )
    stage = "?" if ds.stage is None else ds.stage
    out.append(
        Finding(
            "deepspeed",
            "info",
            f"DeepSpeed ZeRO-{stage} from {ds.source}; offload: parameters {ds.offload_param}, "
            f"optimizer {ds.offload_optimizer}; {ctx.world_size} process(es).",
        )
    )
    out += _ds_batch(g, ds, ctx.world_size)
    out += _precision(recipe, ds, ctx)
    if ds.stage == 3:
        out += _zero3(g, recipe, ds)
    return out


def _launch(recipe: Recipe, ctx: Context) -> list[Finding]:
    """Several processes without CUDA and without DeepSpeed must run on accelerate's CPU path (an
    explicit ``use_cpu: false`` in the recipe; TRL's default is what medzero replaces on CPUs)."""
    explicit_off = recipe.grpo.get("use_cpu") is False
    if ctx.world_size > 1 and not ctx.has_cuda and ctx.deepspeed is None and explicit_off:
        return [
            Finding(
                "use_cpu",
                "error",
                f"grpo.use_cpu is false on a machine without CUDA in a {ctx.world_size}-process launch: "
                "accelerate then gives every process its own single-process run (they do not train "
                "together). Remove grpo.use_cpu (medzero sets it on CPUs).",
            )
        ]
    return []


def _ds_batch(g: dict[str, Any], ds: DeepSpeedSetup, world: int) -> list[Finding]:
    """Explicit batch numbers in a DeepSpeed JSON must agree with the recipe (``"auto"`` always does)."""
    per_dev = int(g.get("per_device_train_batch_size") or 1)
    accum = int(g.get("gradient_accumulation_steps") or 1)
    want = {
        "train_micro_batch_size_per_gpu": (per_dev, "grpo.per_device_train_batch_size"),
        "gradient_accumulation_steps": (accum, "grpo.gradient_accumulation_steps"),
        "train_batch_size": (
            per_dev * accum * world,
            f"per_device_train_batch_size x gradient_accumulation_steps x processes = {per_dev} x {accum} x {world}",
        ),
    }
    out = []
    for key, (value, from_what) in want.items():
        given = ds.config.get(key)
        if given is None or given == "auto":
            continue
        if given != value:
            out.append(
                Finding(
                    "deepspeed_batch",
                    "error",
                    f'{ds.source}: "{key}" is {given} but the run uses {value} ({from_what}); DeepSpeed '
                    f'stops at start-up on the mismatch. Set it to "auto" (transformers fills it in).',
                )
            )
    return out


def _precision(recipe: Recipe, ds: DeepSpeedSetup, ctx: Context) -> list[Finding]:
    """The launcher's mixed precision must match the run's: DeepSpeed stops at start-up otherwise."""
    asked, in_json = ds.mixed_precision, False
    for kind in ("bf16", "fp16"):  # a DeepSpeed JSON may switch it on explicitly
        if (ds.config.get(kind) or {}).get("enabled") is True:
            asked, in_json = kind, True
    if asked not in ("bf16", "fp16"):
        return []
    # medzero trains in fp32 without CUDA unless the recipe says otherwise; TRL defaults to bf16
    run = recipe.grpo.get(asked, ctx.has_cuda if asked == "bf16" else False)
    if run:
        return []
    if in_json:
        fix = f'set "{asked}": {{"enabled": "auto"}} in {ds.source}'
    elif not ctx.has_cuda:
        fix = "pass --mixed_precision no to accelerate launch"
    else:
        fix = f"set grpo.{asked}: true"
    return [
        Finding(
            "mixed_precision",
            "error",
            f"the launch asks for mixed_precision {asked} ({ds.source}) but the run trains "
            f"without it (grpo.{asked} is false{'' if ctx.has_cuda else ', as on every CPU run'}): "
            f"DeepSpeed stops at start-up ('ds {asked}.enabled=True vs hf "
            f"{asked}=False'). Fix: {fix}.",
        )
    ]


def _zero3(g: dict[str, Any], recipe: Recipe, ds: DeepSpeedSetup) -> list[Finding]:
    out = []
    p = recipe.peft
    if p.load_in_4bit:
        out.append(
            Finding(
                "zero3_qlora",
                "warning",
                "QLoRA under ZeRO-3: PEFT's QLoRA + ZeRO-3 set-up stores the packed 4-bit weights in the "
                "compute dtype (bitsandbytes' bnb_4bit_quant_storage) so that DeepSpeed can partition them; "
                "medzero's loader leaves bitsandbytes' default (uint8). Use ZeRO-2 for QLoRA, or LoRA on a "
                "bf16 base under ZeRO-3.",
            )
        )
    if p.active and g.get("gradient_checkpointing"):
        kwargs = g.get("gradient_checkpointing_kwargs") or {}
        said = (
            "your gradient_checkpointing_kwargs use_reentrant: false is overridden"
            if kwargs.get("use_reentrant") is False
            else "recipes written for full fine-tuning (the seed's use_reentrant: false) behave differently"
        )
        out.append(
            Finding(
                "zero3_lora_checkpointing",
                "warning",
                "ZeRO-3 + LoRA + gradient checkpointing: TRL switches to reentrant checkpointing for PEFT "
                "under ZeRO-3 (non-reentrant checkpointing does not train PEFT adapters correctly there, "
                f"huggingface/trl#2514), so {said}. Activation memory and speed differ from a LoRA run "
                "without ZeRO-3.",
            )
        )
    if p.active and ds.zero3_init is False:
        out.append(
            Finding(
                "zero3_lora_init",
                "info",
                "ZeRO-3 with zero3_init_flag false: each process loads the whole base model before "
                "PEFT wraps it and DeepSpeed partitions it (peak memory = one full copy per process).",
            )
        )
    gathers = ds.config.get("zero_optimization", {}).get("stage3_gather_16bit_weights_on_model_save")
    if ds.config and gathers is not True:
        out.append(
            Finding(
                "zero3_save",
                "warning",
                f"{ds.source}: zero_optimization.stage3_gather_16bit_weights_on_model_save is not true: "
                "checkpoints and final/ then hold only each process's shard (from_pretrained fails); "
                "set it to true, or consolidate with checkpoint-N/zero_to_fp32.py.",
            )
        )
    colocate = g.get("use_vllm") and g.get("vllm_mode", "colocate") == "colocate"
    if colocate and ds.offloads:
        out.append(
            Finding(
                "zero3_offload_vllm",
                "warning",
                f"vllm_mode colocate with ZeRO-3 offload (parameters {ds.offload_param}, optimizer "
                f"{ds.offload_optimizer}): every weight sync gathers the full model from host memory "
                "onto each GPU next to vLLM's reserved share (vllm_gpu_memory_utilization "
                f"{g.get('vllm_gpu_memory_utilization')}), and host RAM must hold the offloaded "
                "states (AdamW's fp32 weights and moments, ~12 bytes per parameter, spread over all "
                "processes). "
                "Lower vllm_gpu_memory_utilization or use vllm_mode: server.",
            )
        )
    elif not g.get("use_vllm") and g.get("ds3_gather_for_generation", True):
        out.append(
            Finding(
                "zero3_generation",
                "info",
                "ZeRO-3 without vLLM: generation gathers the whole model on every process "
                "(ds3_gather_for_generation); set it to false only when one full copy does not fit "
                "(generation is then much slower).",
            )
        )
    return out

"""``medzero train RECIPE --print-config``: every setting a run would use, as one JSON object.

Nothing is loaded but TRL's config class: no model, no tokenizer, no data. The ``grpo`` section
is the ``GRPOConfig`` TRL would receive on this machine (medzero's defaults, the recipe, the
CPU fallbacks and the reward weights, exactly as :func:`medzero.train.runner.grpo_config` builds
it, every field included); ``rewards`` lists each reward function with its weight and all its
parameters; ``prompt`` names the template and gives its rendered system prompt. Comparing two
recipes (or a recipe with the seed's settings) is a diff of two outputs.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Any

from medzero.data.prompts import TEMPLATES
from medzero.train.recipe import Recipe


def _params(fn: Any) -> dict[str, Any]:
    return {f.name: getattr(fn, f.name) for f in dataclasses.fields(fn)}


def resolved_settings(recipe: Recipe, run_dir: Path) -> dict[str, Any]:
    """The fully resolved settings of ``recipe`` run into ``run_dir`` (JSON-serialisable)."""
    from medzero.rewards import build_reward_funcs
    from medzero.train.preflight import attn_implementation, has_cuda, world_size
    from medzero.train.runner import grpo_config

    warnings.filterwarnings(  # transformers 5 renames gradient_checkpointing*; TRL still passes it
        "ignore", message=r".*gradient_checkpointing.* is deprecated", category=FutureWarning
    )
    cuda = has_cuda()
    funcs, weights = build_reward_funcs(recipe.rewards, recipe.reward_params)
    cfg = grpo_config(recipe, run_dir, cuda)
    cfg.reward_weights = list(weights)  # as medzero.train.runner.train sets it
    attn, attn_note = attn_implementation(recipe, cuda)
    prompt = recipe.data.prompt
    system, instruction = prompt.resolved()
    data = dataclasses.asdict(recipe.data)
    data.pop("prompt")
    notes = []
    if any("think_preopened" in _params(fn) for fn in funcs):
        notes.append(
            "rewards that take think_preopened get true at training time when the model's chat "
            "template opens <think> (decided from the tokenizer, which --print-config does not load)"
        )
    if attn_note:
        notes.append(attn_note)
    return {
        "recipe": recipe.source,
        "run_dir": str(run_dir),
        "device": "cuda" if cuda else "cpu",
        "processes": world_size(),
        "model": {**dataclasses.asdict(recipe.model), "attn_implementation_used": attn},
        "peft": dataclasses.asdict(recipe.peft),
        "data": data,
        "prompt": {
            "template": prompt.template,
            "layout": TEMPLATES.get(prompt.template).layout,
            "system_prompt": system,
            "system_role": prompt.system_role,
            "instruction": instruction,
            "option_format": prompt.option_format,
        },
        "rewards": [
            {"name": fn.__name__, "weight": w, "params": _params(fn)}
            for fn, w in zip(funcs, weights, strict=True)
        ],
        "warmup": dataclasses.asdict(recipe.warmup),
        "guard": dataclasses.asdict(recipe.guard),
        "curriculum": recipe.curriculum,
        "dynamic_sampling": recipe.dynamic_sampling,
        "grpo": cfg.to_dict(),
        "notes": notes,
    }

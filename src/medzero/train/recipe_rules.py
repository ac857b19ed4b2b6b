"""Value rules of a recipe that its types cannot say: finite numbers, positive counts, shares.

Used by :func:`medzero.train.recipe.recipe_from_dict`; each rule names the key and its line
(``where(key)`` gives ``file:line``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from medzero.errors import ConfigError


def check_numbers(node: Any, where: Callable[[str], str], prefix: str = "") -> None:
    """No NaN or infinity anywhere (``learning_rate: .nan`` would train on garbage)."""
    if isinstance(node, dict):
        for k, v in node.items():
            check_numbers(v, where, f"{prefix}{k}.")
    elif isinstance(node, list):
        for v in node:
            check_numbers(v, where, prefix)
    elif isinstance(node, float) and not math.isfinite(node):
        key = prefix.rstrip(".")
        raise ConfigError(f'{where(key)}: "{key}" is {node}; a finite number is required')


#: ``key: (lowest allowed, what it means)`` for numbers that must be positive or -1.
_RANGES: dict[str, tuple[float, str]] = {
    "grpo.num_train_epochs": (0.0, "> 0"),
    "grpo.per_device_train_batch_size": (0.5, ">= 1"),
    "grpo.gradient_accumulation_steps": (0.5, ">= 1"),
    "grpo.save_steps": (0.0, "> 0"),
    "grpo.logging_steps": (0.0, "> 0"),
    "grpo.max_completion_length": (0.5, ">= 1"),
    "peft.r": (0.5, ">= 1"),
    "data.synthetic": (0.5, ">= 1"),
    "data.limit": (0.5, ">= 1"),
    "data.prompt_max_tokens": (0.5, ">= 1"),
    "data.image_max_pixels": (0.5, ">= 1"),
    "guard.patience": (0.5, ">= 1"),
}


def check_ranges(recipe: Any, where: Callable[[str], str]) -> None:
    """Numbers that must be positive (or -1 for max_steps) and shares between 0 and 1."""

    def value(key: str) -> Any:
        section, name = key.split(".")
        obj = getattr(recipe, section)
        return obj.get(name) if isinstance(obj, dict) else getattr(obj, name)

    for key, (low, rule) in _RANGES.items():
        v = value(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v <= low:
            raise ConfigError(f'{where(key)}: "{key}" is {v}; it must be {rule}')
    steps = recipe.grpo.get("max_steps")
    if isinstance(steps, int) and steps != -1 and steps < 1:
        raise ConfigError(
            f'{where("grpo.max_steps")}: "grpo.max_steps" is {steps}; give a number of steps >= 1 '
            "(or -1: train for num_train_epochs)"
        )
    if not 0 <= recipe.peft.lora_dropout < 1 or not 0 < recipe.guard.threshold <= 1:
        key = "peft.lora_dropout" if not 0 <= recipe.peft.lora_dropout < 1 else "guard.threshold"
        raise ConfigError(f'{where(key)}: "{key}" is {value(key)}; expected a share between 0 and 1')

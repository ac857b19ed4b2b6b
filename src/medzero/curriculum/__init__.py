"""Difficulty grading, curriculum order and dynamic sampling (see docs/curriculum.md).

The training side needs two calls: :func:`parse_sections` while reading a recipe (errors before
anything loads) and :func:`apply` to extend the trainer class; everything else stays in this package.

>>> class Trainer: ...
>>> apply(Trainer, {"curriculum": None, "dynamic_sampling": None}) is Trainer
True
"""

from __future__ import annotations

from typing import Any


def _section(recipe: Any, name: str) -> Any:
    return recipe.get(name) if isinstance(recipe, dict) else getattr(recipe, name, None)


def parse_sections(recipe: Any, where: str = "recipe") -> tuple[Any, Any]:
    """``(CurriculumConfig | None, DynamicSamplingConfig | None)`` from a recipe's two optional sections
    (mappings from YAML, or configs already built); bad keys or values raise ConfigError naming ``where``."""
    from medzero.curriculum.config import CurriculumConfig, DynamicSamplingConfig
    from medzero.errors import ConfigError

    cur, dyn = _section(recipe, "curriculum"), _section(recipe, "dynamic_sampling")
    try:
        if isinstance(cur, dict):
            cur = CurriculumConfig.from_dict(cur)
        if isinstance(dyn, dict):
            dyn = DynamicSamplingConfig.from_dict(dyn)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    rewards = _section(recipe, "rewards")
    if dyn is not None and dyn.online_regrade and rewards and dyn.regrade_reward not in rewards:
        raise ConfigError(
            f'{where}: dynamic_sampling.regrade_reward "{dyn.regrade_reward}" is not among the recipe\'s '
            f"rewards ({', '.join(rewards)})"
        )
    return cur, dyn


def apply(trainer_cls: type, recipe: Any, dataset: Any = None, args: Any = None) -> type:
    """Return ``trainer_cls`` extended with the recipe's ``curriculum`` / ``dynamic_sampling`` sections.

    With both sections absent the class is returned unchanged (a plain TRL run). When the training
    ``dataset`` and the ``GRPOConfig`` (``args``) are given, the curriculum is checked against the
    data now — before any model is loaded — e.g. a ratio on a bin the dataset lacks is a ConfigError.
    """
    cur, dyn = parse_sections(recipe, where=str(_section(recipe, "source") or "recipe"))
    if cur is None and dyn is None:
        return trainer_cls
    from medzero.curriculum.dynamic import build_sampler, make_trainer_class

    if dataset is not None and args is not None and (cur is not None or dyn.online_regrade):
        build_sampler(dataset, cur, dyn, args, args.num_generations, args.num_iterations)
    return make_trainer_class(trainer_cls, cur, dyn)

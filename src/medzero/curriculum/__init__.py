"""Difficulty grading, curriculum order and dynamic sampling (see docs/curriculum.md).

The training runner calls :func:`apply` once; everything else stays inside this package:

>>> class Trainer: ...
>>> apply(Trainer, {"curriculum": None, "dynamic_sampling": None}) is Trainer
True
"""

from __future__ import annotations

from typing import Any


def _section(recipe: Any, name: str) -> Any:
    return recipe.get(name) if isinstance(recipe, dict) else getattr(recipe, name, None)


def apply(trainer_cls: type, recipe: Any) -> type:
    """Return ``trainer_cls`` extended with the recipe's ``curriculum`` / ``dynamic_sampling`` sections.

    ``recipe`` is the parsed recipe (an object with those attributes, or a mapping); each section may
    be ``None`` (absent), a mapping from YAML, or an already built config. With both absent the class
    is returned unchanged, so a run without these sections is plain TRL.
    """
    from medzero.curriculum.config import CurriculumConfig, DynamicSamplingConfig

    cur, dyn = _section(recipe, "curriculum"), _section(recipe, "dynamic_sampling")
    if isinstance(cur, dict):
        cur = CurriculumConfig.from_dict(cur)
    if isinstance(dyn, dict):
        dyn = DynamicSamplingConfig.from_dict(dyn)
    if cur is None and dyn is None:
        return trainer_cls
    from medzero.curriculum.dynamic import make_trainer_class

    return make_trainer_class(trainer_cls, cur, dyn)

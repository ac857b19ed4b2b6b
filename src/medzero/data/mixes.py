"""Training-mix definitions: the seed study's three recipes and custom mixes from YAML.

A mix is a list of :class:`MixEntry` (one per source file). The built-in recipes:

============  ==============================================
``dataset1``  1090 MedQA-USMLE train
``dataset2``  600 MedQA-USMLE train + 490 MedXpertQA
``dataset3``  490 MedXpertQA
============  ==============================================

MedXpertQA has only a test split, so its entry carries ``pool_frac`` (default 0.2): a seeded 20%
of the file (490 of 2450) is the training pool and the rest is written out as held-out ids, which
evaluation reads so that no trained question is ever scored.

A custom mix is a YAML list (paths relative to the YAML file)::

    - source: medqa
      path: data/US_train.jsonl
      count: 500
    - source: medxpertqa
      path: data/text_test.jsonl
      count: 200
      pool_frac: 0.2          # optional: train pool fraction, the rest is held out
      stratify: question_type # optional: keep each question type's share in the pool (the seed's split)
      format: medxpertqa      # optional (default auto)
      options: {}             # optional loader options, e.g. {cop_base: 1}
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from medzero.errors import ConfigError

RECIPES: dict[str, dict[str, int]] = {
    "dataset1": {"medqa": 1090},
    "dataset2": {"medqa": 600, "medxpertqa": 490},
    "dataset3": {"medxpertqa": 490},
}
DEFAULT_POOL_FRAC = 0.2


@dataclass
class MixEntry:
    """One source of a training mix."""

    source: str = field(metadata={"help": "Source name the records must carry (medqa, medxpertqa, ...)."})
    path: str = field(metadata={"help": "Input file, read with medzero.data.loaders.load_mcqs."})
    count: int = field(metadata={"help": "Questions to sample (without replacement) from the pool, > 0."})
    format: str = field(default="auto", metadata={"help": "Loader format name, or 'auto'."})
    pool_frac: float | None = field(
        default=None,
        metadata={
            "help": "Fraction (0, 1] of the de-duplicated file that forms the training pool; the rest is "
            "held out for evaluation. None: the whole file is the pool and nothing is held out."
        },
    )
    options: dict[str, Any] = field(default_factory=dict, metadata={"help": "Loader options."})
    stratify: str | None = field(
        default=None,
        metadata={
            "help": "With pool_frac: a meta field (e.g. question_type for MedXpertQA) whose values keep "
            "their proportions in the training pool, as the seed's stratified split did. None: a plain "
            "seeded split."
        },
    )

    def __post_init__(self) -> None:
        if not isinstance(self.count, int) or isinstance(self.count, bool) or self.count <= 0:
            raise ConfigError(
                f"mix entry {self.source!r}: count must be a positive integer, got {self.count!r}"
            )
        if self.pool_frac is not None and not (
            isinstance(self.pool_frac, (int, float)) and 0 < self.pool_frac <= 1
        ):
            raise ConfigError(
                f"mix entry {self.source!r}: pool_frac must be in (0, 1], got {self.pool_frac!r}"
            )
        if not isinstance(self.options, dict):
            raise ConfigError(f"mix entry {self.source!r}: options must be a mapping")
        if self.stratify is not None and self.pool_frac is None:
            raise ConfigError(
                f"mix entry {self.source!r}: stratify={self.stratify!r} needs pool_frac (it shapes the "
                "split into a training pool and held-out questions)"
            )


def recipe_mix(
    recipe: str,
    *,
    medqa_train: str | Path | None = None,
    medxpertqa: str | Path | None = None,
    n_medqa: int | None = None,
    n_medxpertqa: int | None = None,
    pool_frac: float = DEFAULT_POOL_FRAC,
    stratify: str | None = None,
) -> list[MixEntry]:
    """The entries of a built-in recipe, with its sizes optionally overridden; ``stratify``
    (a meta field, e.g. ``question_type``) applies to the MedXpertQA split."""
    if recipe not in RECIPES:
        from medzero.registry import did_you_mean

        raise ConfigError(
            f"unknown recipe {recipe!r}.{did_you_mean(recipe, list(RECIPES))} Available: {', '.join(RECIPES)}"
        )
    sizes = dict(RECIPES[recipe])
    paths = {"medqa": medqa_train, "medxpertqa": medxpertqa}
    overrides = {"medqa": n_medqa, "medxpertqa": n_medxpertqa}
    entries = []
    for source, count in sizes.items():
        if paths[source] is None:
            flag = "--medqa-train" if source == "medqa" else "--medxpertqa"
            raise ConfigError(f"recipe {recipe} needs {source} questions: pass {flag} PATH")
        entries.append(
            MixEntry(
                source=source,
                path=str(paths[source]),
                count=overrides[source] or count,
                pool_frac=pool_frac if source == "medxpertqa" else None,
                stratify=stratify if source == "medxpertqa" else None,
            )
        )
    return entries


def load_mix(path: str | Path) -> list[MixEntry]:
    """Read a custom mix YAML (strict: :mod:`medzero.yamlsafe`); unknown keys are errors naming key and file."""
    from medzero import yamlsafe

    path = Path(path)
    data = yamlsafe.load(path)  # plain YAML data only; errors name file and line
    if isinstance(data, dict) and set(data) == {"sources"}:
        data = data["sources"]
    if not isinstance(data, list) or not data:
        raise ConfigError(f"{path}: expected a non-empty list of {{source, path, count}} entries")
    allowed = {f.name for f in fields(MixEntry)}
    entries = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise ConfigError(f"{path}: entry {i}: expected a mapping, got {type(item).__name__}")
        unknown = sorted(set(item) - allowed)
        if unknown:
            raise ConfigError(f"{path}: entry {i}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
        missing = [k for k in ("source", "path", "count") if k not in item]
        if missing:
            raise ConfigError(f"{path}: entry {i}: missing key(s) {missing}")
        item = dict(item)
        src = Path(str(item["path"]))
        item["path"] = str(src if src.is_absolute() else path.parent / src)
        entries.append(MixEntry(**item))
    return entries

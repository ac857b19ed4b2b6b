"""Recipe sections ``curriculum:`` and ``dynamic_sampling:`` as documented dataclasses.

Both are optional in a training recipe; ``None`` means TRL's own behaviour (a shuffled
``RepeatSampler``, every group trained on). Build them from YAML mappings with
:meth:`CurriculumConfig.from_dict` / :meth:`DynamicSamplingConfig.from_dict`: unknown keys and bad
values raise :class:`~medzero.errors.ConfigError` naming the key and the recipe section.

>>> c = CurriculumConfig.from_dict({"order": "easy_to_hard", "ratios": {"easy": 3, "medium": 5, "hard": 2}})
>>> c.ratios
{'easy': 0.3, 'medium': 0.5, 'hard': 0.2}
>>> CurriculumConfig.from_dict({"oder": "random"})
Traceback (most recent call last):
...
medzero.errors.ConfigError: curriculum: unknown key "oder". Did you mean "order"? Valid keys: drop, order, ratios, stages, thresholds
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from medzero.curriculum.bins import BinThresholds, check_bin_names
from medzero.errors import ConfigError
from medzero.registry import did_you_mean

ORDERS = ("random", "easy_to_hard", "hard_to_easy")
FILTER_MODES = ("off", "mask", "resample")


def _check_keys(cls: type, values: Any, where: str) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(values).__name__}")
    valid = sorted(f.name for f in dataclasses.fields(cls))
    for key in values:
        if key not in valid:
            raise ConfigError(
                f'{where}: unknown key "{key}".{did_you_mean(str(key), valid)} Valid keys: {", ".join(valid)}'
            )
    return dict(values)


def _ratios(values: Any, where: str) -> dict[str, float] | None:
    """Normalise a ``{bin: weight}`` mapping to fractions that sum to 1 (zero weights removed)."""
    if values is None:
        return None
    if not isinstance(values, dict) or not values:
        raise ConfigError(f"{where}: ratios must be a non-empty mapping bin -> weight, got {values!r}")
    check_bin_names(values, where)
    try:
        weights = {b: float(w) for b, w in values.items()}
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: ratio weights must be numbers, got {values!r}") from None
    if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise ConfigError(f"{where}: ratio weights must be >= 0 with a positive sum, got {values!r}")
    total = sum(weights.values())
    return {b: round(w / total, 12) for b, w in weights.items() if w > 0}


@dataclass(frozen=True)
class StageConfig:
    """One curriculum stage: which bins (or which mix of bins) to draw from, for how many steps."""

    steps: int | None = field(
        default=None,
        metadata={
            "help": "Optimizer steps this stage lasts; leave it out on the last stage (which then runs to the end)."
        },
    )
    bins: tuple[str, ...] | None = field(
        default=None,
        metadata={
            "help": "Draw from these bins as one pool, in the curriculum's order. Exclusive with ratios."
        },
    )
    ratios: dict[str, float] | None = field(
        default=None,
        metadata={"help": "Fixed mix of bins in every generation batch, e.g. {easy: 0.5, medium: 0.5}."},
    )


@dataclass(frozen=True)
class CurriculumConfig:
    """Data order for GRPO training from difficulty bins (see docs/curriculum.md)."""

    order: Literal["random", "easy_to_hard", "hard_to_easy"] = field(
        default="random",
        metadata={
            "help": "Order of questions within each pass over a pool: shuffled, easiest (highest pass rate) "
            "first, or hardest first. Ties are broken by a seeded shuffle.",
            "choices": ORDERS,
        },
    )
    ratios: dict[str, float] | None = field(
        default=None,
        metadata={
            "help": "Fixed share of each bin in every generation batch, e.g. {easy: 0.3, medium: 0.5, "
            "hard: 0.2}; weights are normalised. None draws from all kept questions as one pool."
        },
    )
    stages: tuple[StageConfig, ...] = field(
        default=(),
        metadata={"help": "Successive stages, each with its own bins or ratios (overriding `ratios`)."},
    )
    drop: tuple[str, ...] = field(
        default=(),
        metadata={"help": "Bins never trained on, e.g. [easy, unsolved] (no learning signal in GRPO)."},
    )
    thresholds: BinThresholds = field(
        default_factory=BinThresholds,
        metadata={"help": "Pass-rate cut points used when online re-grading moves a question between bins."},
    )

    def __post_init__(self) -> None:
        if self.order not in ORDERS:
            raise ConfigError(
                f'curriculum.order: "{self.order}" is not one of {", ".join(ORDERS)}.'
                f"{did_you_mean(str(self.order), ORDERS)}"
            )
        for i, st in enumerate(self.stages[:-1]):
            if st.steps is None:
                raise ConfigError(f"curriculum.stages[{i}]: only the last stage may leave out `steps`")
        for name, ratios in self.all_ratios():
            dropped = sorted(set(ratios) & set(self.drop))
            if dropped:
                raise ConfigError(f"{name} asks for bin(s) {dropped} that `curriculum.drop` removes")

    def all_ratios(self) -> list[tuple[str, dict[str, float]]]:
        out = [("curriculum.ratios", self.ratios)] if self.ratios else []
        out += [(f"curriculum.stages[{i}].ratios", s.ratios) for i, s in enumerate(self.stages) if s.ratios]
        return out

    def needs_grades(self) -> bool:
        """Whether the dataset must carry difficulty grades (anything but a plain random order)."""
        return self.order != "random" or bool(self.ratios or self.stages or self.drop)

    @classmethod
    def from_dict(cls, values: Any, where: str = "curriculum") -> CurriculumConfig:
        values = _check_keys(cls, values, where)
        stages = []
        for i, st in enumerate(values.pop("stages", None) or ()):
            sw = f"{where}.stages[{i}]"
            st = _check_keys(StageConfig, st, sw)
            if st.get("bins") is not None and st.get("ratios") is not None:
                raise ConfigError(f"{sw}: give either `bins` or `ratios`, not both")
            steps = st.get("steps")
            if steps is not None and (not isinstance(steps, int) or steps < 1):
                raise ConfigError(f"{sw}.steps: expected a positive integer, got {steps!r}")
            bins = st.get("bins")
            stages.append(
                StageConfig(
                    steps=steps,
                    bins=tuple(check_bin_names(bins, f"{sw}.bins")) if bins is not None else None,
                    ratios=_ratios(st.get("ratios"), f"{sw}.ratios"),
                )
            )
        return cls(
            order=values.get("order", "random"),
            ratios=_ratios(values.get("ratios"), f"{where}.ratios"),
            stages=tuple(stages),
            drop=tuple(check_bin_names(values.get("drop") or (), f"{where}.drop")),
            thresholds=BinThresholds.from_dict(values.get("thresholds"), f"{where}.thresholds"),
        )


@dataclass(frozen=True)
class DynamicSamplingConfig:
    """Zero-variance group filtering (DAPO dynamic sampling) and online re-grading."""

    filter: Literal["off", "mask", "resample"] = field(
        default="mask",
        metadata={
            "help": "Groups whose rewards are all equal give no GRPO advantage. 'mask' drops them from the "
            "loss (and from its token normaliser); 'resample' regenerates the batch with fresh questions in "
            "their place, up to max_resample_rounds times, then masks what is left; 'off' keeps TRL's behaviour.",
            "choices": FILTER_MODES,
        },
    )
    max_resample_rounds: int = field(
        default=2,
        metadata={
            "help": "Extra generation rounds per batch in 'resample' mode (each costs one generation)."
        },
    )
    online_regrade: bool = field(
        default=True,
        metadata={
            "help": "Track each question's pass rate from training rewards; questions that become easy are "
            "down-weighted (see easy_weight) and re-binned for the curriculum."
        },
    )
    regrade_reward: str = field(
        default="accuracy",
        metadata={"help": "Reward function whose value decides whether a completion passed."},
    )
    pass_threshold: float = field(
        default=0.5, metadata={"help": "A completion passes when `regrade_reward` >= this value."}
    )
    window: int = field(
        default=16, metadata={"help": "Pass rate over a question's most recent `window` completions."}
    )
    min_observations: int = field(
        default=8,
        metadata={"help": "Completions needed before the online pass rate replaces the offline grade."},
    )
    easy_weight: float = field(
        default=0.25,
        metadata={
            "help": "Chance in [0, 1] that a question graded easy online is still drawn when its turn "
            "comes (0 skips it, 1 keeps it)."
        },
    )

    def __post_init__(self) -> None:
        if self.filter not in FILTER_MODES:
            raise ConfigError(
                f'dynamic_sampling.filter: "{self.filter}" is not one of {", ".join(FILTER_MODES)}.'
                f"{did_you_mean(str(self.filter), FILTER_MODES)}"
            )
        if self.max_resample_rounds < 0:
            raise ConfigError("dynamic_sampling.max_resample_rounds must be >= 0")
        if not 0.0 <= self.easy_weight <= 1.0:
            raise ConfigError(f"dynamic_sampling.easy_weight must be in [0, 1], got {self.easy_weight}")
        if not (1 <= self.min_observations <= self.window):
            raise ConfigError(
                "dynamic_sampling: need 1 <= min_observations <= window, got "
                f"min_observations={self.min_observations}, window={self.window}"
            )

    @classmethod
    def from_dict(cls, values: Any, where: str = "dynamic_sampling") -> DynamicSamplingConfig:
        values = _check_keys(cls, values, where)
        try:
            return cls(**values)
        except TypeError as exc:
            raise ConfigError(f"{where}: {exc}") from None

"""Shared pieces of every reward: the registry, the TRL call signature, per-row options.

A reward is a small dataclass whose instances are callable with TRL's signature
``fn(completions, answer=None, options=None, **kwargs) -> list[float | None]``. Classes (not
closures) so that parametrised rewards pickle for multi-process data loaders and accelerate;
each instance carries ``__name__`` because TRL names its metrics ``rewards/<__name__>/mean``.
``None`` means "not applicable" (e.g. no gold answer), never a disguised 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from medzero.data.rows import options_dict
from medzero.extract import Options, completion_text
from medzero.registry import Registry

REWARDS: Registry[Any] = Registry("reward")
ALL_LETTERS = Options("ABCDEFGHIJKLMNOPQRSTUVWXYZ")

R = TypeVar("R", bound="RewardFn")


@dataclass(frozen=True)
class RewardPreset:
    """A named set of rewards (``rewards: seed`` in a recipe) and why it is shaped as it is."""

    weights: dict[str, float]
    note: str  # shown by the weight check, e.g. why a preset knowingly fails it


PRESETS: Registry[RewardPreset] = Registry("reward preset")


def register(cls: type[R]) -> type[R]:
    """Register ``cls`` under ``cls.name`` with a default instance (the reward function itself)."""
    REWARDS.register(cls.name, cls())
    return cls


class RewardFn:
    """Base class: subclasses are dataclasses that set ``name`` and implement :meth:`score`."""

    name: ClassVar[str] = ""
    uses_answer: ClassVar[bool] = False  # True when the value depends on the gold answer
    required: ClassVar[tuple[str, ...]] = ()  # parameters a recipe must set (no usable default)

    def __post_init__(self) -> None:
        self.__name__ = self.name

    def __call__(
        self,
        completions: Sequence[Any],
        answer: Sequence[str | None] | None = None,
        options: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        n = len(completions)
        answers = list(answer) if answer is not None else [None] * n
        opts = list(options) if options is not None else [None] * n
        ids = kwargs.get("completion_ids")
        extra = {k: v for k, v in kwargs.items() if isinstance(v, list) and len(v) == n}
        out: list[float | None] = []
        for i, comp in enumerate(completions):
            row = {k: v[i] for k, v in extra.items()}
            if ids is not None:
                row["n_tokens"] = len(ids[i])
            out.append(self.score(completion_text(comp), answers[i], row_options(opts[i]), row))
        return out

    def score(self, text: str, gold: str | None, opts: Options, row: dict[str, Any]) -> float | None:
        raise NotImplementedError

    def bounds(self, correct: bool) -> tuple[float, float]:
        """(lowest, highest) value this reward can give a completion whose strict answer is
        correct (``correct=True``) or not; used by the weight check."""
        raise NotImplementedError

    def outcome_bounds(self, outcome: str) -> tuple[float, float]:
        """(lowest, highest) value for a completion that commits to the ``"correct"`` letter,
        commits to a ``"wrong"`` one, or ``"listed"`` several options instead of committing (a
        hedge); used by the check that listing options never pays. Defaults to :meth:`bounds`."""
        return self.bounds(outcome == "correct")


def row_options(value: Any) -> Options:
    """A row's ``options`` (list of texts, dict or JSON string) as :class:`Options`; every
    letter is valid when the row has none."""
    if value is None:
        return ALL_LETTERS
    return Options(options_dict(value))


RewardCallable = Callable[..., list[float | None]]

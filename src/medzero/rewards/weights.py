"""Build TRL's ``reward_funcs``/``reward_weights`` from a recipe, and check that the weights keep
a correct answer above every wrong one."""

from __future__ import annotations

import dataclasses
from typing import Any

from medzero.errors import ConfigError
from medzero.registry import did_you_mean
from medzero.rewards.base import PRESETS, REWARDS, RewardFn

# accuracy dominates: the best wrong answer (0 + 0.2 format) stays far below the worst correct
# one (1.0). The seed used accuracy 2.0 against format + tag rewards worth up to 3.0.
DEFAULT_WEIGHTS: dict[str, float] = {"accuracy": 1.0, "format": 0.2}


def resolve_rewards(value: str | dict[str, float]) -> dict[str, float]:
    """A recipe's ``rewards:`` value as ``{name: weight}``: a preset name (``"seed"``) expands to
    its rewards; a mapping is returned as a copy. An unknown preset is a ConfigError."""
    if isinstance(value, str):
        return dict(PRESETS.get(value).weights)
    return dict(value)


def make_reward(name: str, params: dict[str, Any] | None = None) -> RewardFn:
    """A new instance of reward ``name`` with ``params`` (unknown keys are a ConfigError)."""
    proto = REWARDS.get(name)
    params = dict(params or {})
    allowed = [f.name for f in dataclasses.fields(proto)]
    for key in params:
        if key not in allowed:
            raise ConfigError(
                f'reward "{name}": unknown parameter "{key}".{did_you_mean(key, allowed)} '
                f"Available: {', '.join(allowed) or '(none)'}"
            )
    missing = [key for key in proto.required if params.get(key) is None]
    if missing:
        raise ConfigError(f'reward "{name}": set {", ".join(missing)} in its parameters (no default)')
    try:
        return type(proto)(**params)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f'reward "{name}": {exc}') from None


def build_reward_funcs(
    weights: dict[str, float] | None = None,
    params: dict[str, dict[str, Any]] | None = None,
    **more_params: dict[str, Any],
) -> tuple[list[RewardFn], list[float]]:
    """``(reward_funcs, reward_weights)`` for ``GRPOTrainer``/``GRPOConfig``.

    Args:
        weights: reward name -> weight, in order (``{"accuracy": 1.0, "format": 0.2}``);
            :data:`DEFAULT_WEIGHTS` when None. A weight of 0 keeps the reward as a logged metric.
        params: reward name -> constructor parameters (``{"format": {"think_preopened": True}}``);
            keyword arguments ``format={...}`` are merged in. Params for a reward that is not in
            ``weights`` are a ConfigError (almost always a typo).
    """
    weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
    all_params = {**(params or {}), **more_params}
    for name in all_params:
        if name not in weights:
            raise ConfigError(
                f'reward params given for "{name}", which is not among the rewards {list(weights)}'
            )
    funcs, ws = [], []
    for name, w in weights.items():
        if not isinstance(w, (int, float)) or isinstance(w, bool):
            raise ConfigError(f'reward "{name}": weight must be a number, got {w!r}')
        funcs.append(make_reward(name, all_params.get(name)))
        ws.append(float(w))
    return funcs, ws


def check_reward_weights(
    weights: dict[str, float], params: dict[str, dict[str, Any]] | None = None, n_options: int = 10
) -> list[str]:
    """Warnings (empty when fine) for weights under which a wrong answer can score as much as a
    correct one: compares the lowest total a strictly-correct completion can get with the
    highest total a wrong one can get, from each reward's :meth:`~RewardFn.bounds`; and for
    weights under which listing several options pays at least as much as committing to a guess
    among ``n_options`` (expected value, both at their best; MedXpertQA has 10 options)."""
    funcs, ws = build_reward_funcs(weights, params)
    worst_correct = best_wrong = 0.0
    shaping = {}
    for fn, w in zip(funcs, ws, strict=True):
        low = min(w * b for b in fn.bounds(True))
        high = max(w * b for b in fn.bounds(False))
        worst_correct += low
        best_wrong += high
        if not fn.uses_answer and (low < 0 or high > 0):
            shaping[fn.__name__] = w
    warnings = []
    if not any(fn.uses_answer and w > 0 for fn, w in zip(funcs, ws, strict=True)):
        warnings.append(
            "no reward with a positive weight reads the answer: the policy cannot learn correctness"
        )
    elif best_wrong >= worst_correct:
        warnings.append(
            f"a wrong answer can score {best_wrong:.2f} while a correct one may score only "
            f"{worst_correct:.2f}: the non-accuracy rewards {shaping} can outweigh accuracy, which "
            "rewards well-formatted wrong answers. Lower them or raise the accuracy weight "
            f"(defaults: {DEFAULT_WEIGHTS})."
        )
        warnings[-1] += _ranking_example(funcs, ws) + _preset_note(weights)
    listed, guess = _listing_vs_guess(funcs, ws, n_options)
    if listed >= guess:
        warnings.append(
            f"listing several options can score {listed:.2f}, at least the {guess:.2f} a committed "
            f"guess among {n_options} options earns on average: the policy learns to hedge. Give "
            "hedges less (hedge_penalty with a positive weight) or raise the accuracy weight."
        )
    return warnings


# A question with gold B, a well-formatted wrong completion and a right one without its thinking.
_PROBE = {"answer": ["B"], "options": [["Zinc deficiency", "Iron deficiency", "Folate deficiency"]]}
_PROBE_WRONG = "<think>Microcytic anaemia with normal ferritin.</think>\n<answer>A</answer>"
_PROBE_RIGHT = "<answer>B</answer>"


def _ranking_example(funcs: list[RewardFn], ws: list[float]) -> str:
    """A concrete pair the weights rank the wrong way round ("" when this pair is ranked right)."""

    def total(text: str) -> float:
        return sum(w * (fn([text], **_PROBE)[0] or 0.0) for fn, w in zip(funcs, ws, strict=True))

    wrong, right = total(_PROBE_WRONG), total(_PROBE_RIGHT)
    if wrong <= right:
        return ""
    return (
        f" For example, the well-formatted wrong answer {_PROBE_WRONG!r} totals {wrong:.2f}, above "
        f"the right answer without its thinking {_PROBE_RIGHT!r} at {right:.2f}."
    )


def _preset_note(weights: dict[str, float]) -> str:
    for name in PRESETS.names():
        preset = PRESETS.get(name)
        if {k: float(v) for k, v in weights.items()} == preset.weights:
            return " " + preset.note
    return ""


def _listing_vs_guess(funcs: list[RewardFn], ws: list[float], k: int) -> tuple[float, float]:
    """``(best total of a listing, best expected total of a guess among k options)``."""

    def best(fn: RewardFn, w: float, outcome: str) -> float:
        return max(w * b for b in fn.outcome_bounds(outcome))

    listed = sum(best(fn, w, "listed") for fn, w in zip(funcs, ws, strict=True))
    guess = sum(
        best(fn, w, "correct") / k + best(fn, w, "wrong") * (k - 1) / k
        for fn, w in zip(funcs, ws, strict=True)
    )
    return listed, guess

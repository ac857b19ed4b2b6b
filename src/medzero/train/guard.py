"""The collapse guard: notice a GRPO run that stopped learning, say why, and (``action: stop``)
stop it.

Three signs are watched at every logged step, each against ``guard.threshold`` (0.99):

* **truncated** — ``completions/clipped_ratio``: every completion was cut at
  ``max_completion_length``, so no answer is ever complete;
* **constant letter** — one answer letter (strict extraction) in nearly every completion while the
  gold letters vary: the policy answers the same letter whatever the question;
* **zero variance** — nearly every question's completions got the same reward and were not all
  right: GRPO's advantages are all zero, there is no learning signal (groups that are all correct
  are solved, not stuck).

The guard fires when one sign has held for ``guard.patience`` logged steps in a row. Its message
names every sign observed at that step, with the numbers (the cap and the observed lengths; the
letter and its share; the share of stuck groups), and gives the fix that matches the cause; the
learning rate is suggested only when neither truncation nor a constant letter explains it.

The per-completion part (:func:`answer_stats`) is computed by
:class:`~medzero.train.trainer.MedzeroGRPOTrainer` from the completions TRL gathers onto every
process, so all processes see the same numbers and stop at the same step.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from transformers import TrainerCallback

from medzero.console import console

SIGNS = ("truncated", "constant_letter", "zero_variance")


@dataclass
class AnswerStats:
    """What the answers of one or more generation rounds looked like."""

    completions: int = 0
    letters: Counter = field(default_factory=Counter)  # strict-extracted letter -> count (None: no answer)
    golds: Counter = field(default_factory=Counter)
    correct: int = 0
    truncated: int = 0
    groups: int = 0
    stuck_groups: int = 0  # same reward for every completion, and not all correct
    solved_groups: int = 0  # every completion correct

    def merge(self, other: AnswerStats) -> AnswerStats:
        return AnswerStats(
            self.completions + other.completions,
            self.letters + other.letters,
            self.golds + other.golds,
            self.correct + other.correct,
            self.truncated + other.truncated,
            self.groups + other.groups,
            self.stuck_groups + other.stuck_groups,
            self.solved_groups + other.solved_groups,
        )

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.completions if self.completions else None

    def top_letter(self) -> tuple[str | None, float]:
        """The most common answered letter and its share of all completions."""
        answered = [(n, k) for k, n in self.letters.items() if k is not None]
        if not answered:
            return None, 0.0
        n, letter = max(answered)
        return letter, n / self.completions

    def top_gold(self) -> tuple[str | None, float]:
        if not self.golds:
            return None, 0.0
        letter, n = self.golds.most_common(1)[0]
        return letter, n / sum(self.golds.values())


def answer_stats(
    completions: Sequence[str],
    golds: Sequence[str | None],
    options: Sequence[Any],
    rewards: Sequence[float | None],
    truncated: Sequence[bool],
    num_generations: int,
    think_preopened: bool = False,
) -> AnswerStats:
    """Stats of one generation round, in TRL's gathered order (each question's
    ``num_generations`` completions next to each other).

    >>> s = answer_stats(["<answer>B</answer>"] * 4, ["A", "A", "C", "C"], [["x", "y", "z"]] * 4,
    ...                  [0.2, 0.2, 0.2, 0.2], [False] * 4, num_generations=2)
    >>> s.top_letter(), s.stuck_groups, s.accuracy
    (('B', 1.0), 2, 0.0)
    """
    from medzero.data.rows import options_dict
    from medzero.extract import extract

    stats = AnswerStats(completions=len(completions), truncated=sum(map(bool, truncated)))
    right = []
    for text, gold, opts in zip(completions, golds, options, strict=True):
        letter = extract(
            text, options_dict(opts) if opts is not None else "ABCD", think_preopened=think_preopened
        )
        stats.letters[letter.letter] += 1
        stats.golds[gold] += 1
        right.append(letter.letter is not None and letter.letter == gold)
    stats.correct = sum(right)
    g = max(1, num_generations)
    for start in range(0, len(completions), g):
        group = [r for r in rewards[start : start + g]]
        all_right = all(right[start : start + g])
        stats.groups += 1
        stats.solved_groups += all_right
        stats.stuck_groups += len(set(group)) == 1 and not all_right
    return stats


@dataclass
class Observation:
    """One logged step as the guard saw it."""

    step: int
    signs: dict[str, bool]
    logs: dict[str, float | None]
    answers: AnswerStats | None


class CollapseGuard(TrainerCallback):
    """Warn, or stop training, when a run stops learning; see the module docstring."""

    def __init__(
        self,
        action: str = "warn",
        patience: int = 10,
        threshold: float = 0.99,
        max_completion_length: int | None = None,
    ):
        self.action, self.patience, self.threshold = action, patience, threshold
        self.max_completion_length = max_completion_length
        self.streaks = dict.fromkeys(SIGNS, 0)
        self.fired_at: int | None = None
        self.causes: list[str] = []
        self.message: str | None = None
        self._pending: AnswerStats | None = None

    def observe(self, stats: AnswerStats) -> None:
        """Called by the trainer after each generation round (every process, same data)."""
        self._pending = stats if self._pending is None else self._pending.merge(stats)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.action == "off" or not logs or "frac_reward_zero_std" not in logs:
            return
        answers, self._pending = self._pending, None
        obs = self.observation(state.global_step, logs, answers)
        for sign, seen in obs.signs.items():
            self.streaks[sign] = self.streaks[sign] + 1 if seen else 0
        if self.fired_at is not None or max(self.streaks.values()) < self.patience:
            return
        self.fired_at = state.global_step
        self.causes = [s for s in SIGNS if obs.signs[s]]
        cap = self.max_completion_length or getattr(args, "max_completion_length", None)
        self.message = explain(obs, cap, self.patience)
        if state.is_world_process_zero:
            console.print(
                f"[bold yellow]collapse guard:[/] {self.message}"
                + (" Stopping." if self.action == "stop" else ""),
                highlight=False,
            )
        if self.action == "stop":
            control.should_training_stop = True

    def observation(self, step: int, logs: dict[str, Any], answers: AnswerStats | None) -> Observation:
        def num(key: str) -> float | None:
            v = logs.get(key)
            v = v.item() if hasattr(v, "item") else v
            return float(v) if isinstance(v, (int, float)) and v == v else None

        vals = {k: num(k) for k in ("frac_reward_zero_std", "completions/clipped_ratio",
                                    "completions/mean_length", "completions/min_length",
                                    "completions/max_length", "reward")}  # fmt: skip
        t = self.threshold
        clipped = vals["completions/clipped_ratio"]
        if clipped is None and answers is not None and answers.completions:
            clipped = answers.truncated / answers.completions
        if answers is not None and answers.groups:
            stuck = answers.stuck_groups / answers.groups
            _, top = answers.top_letter()
            _, gold_top = answers.top_gold()
            constant = top >= t and gold_top < t
        else:  # no completion data (a trainer without medzero's capture): TRL's share alone
            stuck, constant = vals["frac_reward_zero_std"] or 0.0, False
        signs = {"truncated": (clipped or 0.0) >= t, "constant_letter": constant, "zero_variance": stuck >= t}
        vals["stuck"] = stuck
        vals["clipped"] = clipped
        return Observation(step, signs, vals, answers)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def explain(obs: Observation, cap: int | None, patience: int) -> str:
    """The guard's message: what was observed at the step it fired, and the matching fix."""
    v, a, parts = obs.logs, obs.answers, []
    lead = f"step {obs.step}, after {patience} logged steps in a row:"
    if obs.signs["truncated"]:
        lengths = ", ".join(
            f"{name} {v[f'completions/{name}_length']:.0f}"
            for name in ("mean", "min", "max")
            if v.get(f"completions/{name}_length") is not None
        )
        cap_txt = f"max_completion_length={cap}" if cap else "max_completion_length"
        parts.append(
            f"{_pct(v['clipped'])} of completions were cut at {cap_txt} tokens (observed lengths: {lengths or 'n/a'}), "
            f"so no answer is ever complete. Raise grpo.max_completion_length"
            + (f" (e.g. --set grpo.max_completion_length={2 * cap})" if cap else "")
            + "; a format warm-up's target must also fit under it."
        )
    if obs.signs["constant_letter"] and a is not None:
        letter, share = a.top_letter()
        gold, gold_share = a.top_gold()
        parts.append(
            f"{_pct(share)} of completions answer {letter} while the gold letters vary (the most common, {gold}, is "
            f"{_pct(gold_share)}): the policy answers one letter whatever the question (strict accuracy "
            f"{_pct(a.accuracy)}). Use RUN_DIR/best or an earlier checkpoint; check that the prompt carries what "
            "decides the answer, and sample more diverse answers (higher temperature or num_generations)."
        )
    if obs.signs["zero_variance"] or not parts:
        acc = a.accuracy if a is not None else None
        text = (
            f"{_pct(v['stuck'])} of question groups got the same reward for every completion without being "
            f"all correct (frac_reward_zero_std {_pct(v['frac_reward_zero_std'])}"
            + (f", strict accuracy {_pct(acc)}" if acc is not None else "")
            + "): GRPO has no learning signal."
        )
        if len(parts) == 0:  # neither truncation nor a constant letter explains it
            if acc is not None and acc == 0:
                text += (
                    " No completion is ever right: the task is out of reach as the model stands (a format "
                    "warm-up, easier questions or more num_generations)."
                )
            else:
                text += (
                    " The completions of a question no longer differ: lower the learning rate or raise the "
                    "temperature, and resume from an earlier checkpoint (or RUN_DIR/best)."
                )
        parts.append(text)
    return " ".join([lead, *parts])

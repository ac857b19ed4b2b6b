"""Online re-grading: pass rates of training questions from the rewards seen during training.

Every generation batch the trainer records, per question id, whether each of its completions
passed (e.g. accuracy reward 1). :meth:`OnlineGrades.pass_rate` gives the pass rate over the
last ``window`` completions of a question. The curriculum sampler asks for the rate *as of*
an earlier generation batch (``upto``), so that every rank, however far its data loader has read
ahead, sees the same grades and draws the same prompts.

>>> g = OnlineGrades(window=4, min_observations=2)
>>> g.record(0, ["q1", "q1", "q2", "q2"], [True, True, False, True])
>>> g.pass_rate("q1", upto=0), g.pass_rate("q2", upto=0), g.pass_rate("q3", upto=0)
(1.0, 0.5, None)
>>> g.pass_rate("q1", upto=-1) is None  # nothing recorded before generation batch 0
True
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any


class OnlineGrades:
    """Per-question pass history, tagged by generation batch index.

    Args:
        window: how many of a question's most recent completions make up its pass rate.
        min_observations: fewer completions than this (within the window) give no rate (``None``),
            so the offline grade from ``medzero data grade`` still applies.
    """

    def __init__(self, window: int = 16, min_observations: int = 8):
        if window < 1 or min_observations < 1 or min_observations > window:
            raise ValueError(
                f"need 1 <= min_observations <= window, got window={window}, "
                f"min_observations={min_observations}"
            )
        self.window = window
        self.min_observations = min_observations
        self._history: dict[str, list[tuple[int, bool]]] = defaultdict(list)
        self.last_generation = -1

    def record(self, generation: int, ids: Sequence[str], passed: Sequence[bool]) -> None:
        """Add one generation batch's outcomes (``ids[i]`` is the question of completion ``i``)."""
        if len(ids) != len(passed):
            raise ValueError(f"{len(ids)} ids but {len(passed)} outcomes")
        for qid, ok in zip(ids, passed, strict=True):
            hist = self._history[str(qid)]
            hist.append((generation, bool(ok)))
            if len(hist) > 4 * self.window:  # keep memory bounded; sampler lag is far below this
                del hist[: len(hist) - 2 * self.window]
        self.last_generation = max(self.last_generation, generation)

    def pass_rate(self, qid: str, upto: int) -> float | None:
        """Pass rate over the last ``window`` completions recorded at generation batch <= ``upto``."""
        hist = self._history.get(str(qid))
        if not hist:
            return None
        recent: list[bool] = []
        for gen, ok in reversed(hist):
            if gen > upto:
                continue
            recent.append(ok)
            if len(recent) == self.window:
                break
        if len(recent) < self.min_observations:
            return None
        return sum(recent) / len(recent)

    def rates(self, upto: int) -> dict[str, float]:
        """Every question with enough observations -> its pass rate as of ``upto``."""
        out = {}
        for qid in self._history:
            rate = self.pass_rate(qid, upto)
            if rate is not None:
                out[qid] = rate
        return out

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable state (saved next to trainer checkpoints)."""
        return {
            "window": self.window,
            "min_observations": self.min_observations,
            "last_generation": self.last_generation,
            "history": {k: [[g, int(ok)] for g, ok in v] for k, v in self._history.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._history = defaultdict(list)
        for qid, items in state.get("history", {}).items():
            self._history[qid] = [(int(g), bool(ok)) for g, ok in items]
        self.last_generation = int(state.get("last_generation", -1))

"""What a training run writes while it runs: ``metrics.jsonl``, ``completions.jsonl`` and the
live progress (the collapse guard is :mod:`medzero.train.guard`).

Multi-process runs: TRL already gathers every completion, reward and advantage onto each process
(for its own completion tables), so only rank 0 writes both files; each completion line carries
the ``rank`` that generated it. Both files are append-only and flushed after every step; on
resume, lines with ``step`` greater than the checkpoint's step are dropped first
(:func:`truncate_after_step`) so that every step is recorded exactly once.
"""

from __future__ import annotations

import json
import math
import os
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from medzero.console import make_progress
from medzero.extract.text import completion_text
from medzero.jsonl import JsonlAppender, repair_jsonl_tail
from medzero.tools.search import assistant_text, search_calls

METRICS_FILE = "metrics.jsonl"
COMPLETIONS_FILE = "completions.jsonl"
# Keys of TRL's end-of-training summary log; it goes to run_info.json, not metrics.jsonl.
SUMMARY_KEYS = ("train_runtime", "train_samples_per_second", "train_steps_per_second", "train_loss")


def clean_number(value: Any) -> Any:
    """JSON has no NaN/inf: map them to ``None``; tensors/numpy scalars to Python numbers."""
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def truncate_after_step(path: str | Path, step: int) -> int:
    """Drop lines whose ``step`` is greater than ``step`` (and a torn last line); return how many.

    Rewrites the file through a temporary file + rename, so a kill leaves either version."""
    path = Path(path)
    if not path.exists():
        return 0
    repair_jsonl_tail(path)
    kept, dropped = [], 0
    with path.open(encoding="utf-8") as fh:
        lines = [ln for ln in fh if ln.strip()]
    for line in lines:
        if int(json.loads(line).get("step", 0)) > step:
            dropped += 1
        else:
            kept.append(line)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(kept), encoding="utf-8")
    os.replace(tmp, path)
    return dropped


class CompletionsWriter:
    """Writes one ``completions.jsonl`` line per generated completion (rank 0 only)."""

    def __init__(self, path: str | Path, weights: dict[str, float], tools: bool = False):
        self.weights = dict(weights)
        self.tools = tools  # record each completion's tool calls (medzero.tools.search.search_calls)
        self._out = JsonlAppender(path)

    def write_step(
        self,
        step: int,
        *,
        prompt_ids: Sequence[str],
        golds: Sequence[str | None],
        completions: Sequence[Any],
        token_lengths: Sequence[int],
        truncated: Sequence[bool],
        rewards: dict[str, Sequence[float]],
        advantages: Sequence[float] | None,
        num_generations: int,
        local_size: int,
    ) -> int:
        """Write one generation round. Inputs are in TRL's gathered order: rank 0's completions
        first, each prompt's ``num_generations`` completions next to each other."""
        rows = []
        for i, text in enumerate(completions):
            comps = {name: clean_number(vals[i]) for name, vals in rewards.items()}
            rows.append(
                {
                    "step": step,
                    "prompt_id": str(prompt_ids[i]),
                    "sample": i % num_generations,
                    "completion": assistant_text(text) if self.tools else completion_text(text),
                    "completion_tokens": int(token_lengths[i]),
                    "truncated": bool(truncated[i]),
                    "rewards": comps,
                    "reward": weighted_reward(comps, self.weights),
                    "advantage": clean_number(advantages[i]) if advantages is not None else None,
                    "gold": golds[i],
                    "rank": i // local_size if local_size else 0,
                }
            )
            if self.tools:
                rows[-1]["tool_calls"] = search_calls(text)
        self._out.write_many(rows)
        return len(rows)

    def close(self) -> None:
        self._out.close()


def weighted_reward(components: dict[str, float | None], weights: dict[str, float]) -> float | None:
    """``sum(weight * value)`` over the non-null components (what TRL trains on); ``None`` if all are null."""
    scored = [(weights.get(n, 1.0), v) for n, v in components.items() if v is not None]
    return sum(w * v for w, v in scored) if scored else None


class MetricsCallback(TrainerCallback):
    """Appends TRL's logged metrics to ``metrics.jsonl`` (one line per logging step, rank 0)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.summary: dict[str, Any] = {}
        self.last: dict[str, Any] = {}
        self._out: JsonlAppender | None = None

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        if any(k in logs for k in SUMMARY_KEYS):
            self.summary = {k: clean_number(v) for k, v in logs.items()}
            return
        row = {"step": state.global_step, "epoch": clean_number(state.epoch)}
        row.update({k: clean_number(v) for k, v in logs.items() if k not in row})
        self.last = row
        self.write(row)

    def write(self, row: dict[str, Any]) -> None:
        """Append one row (also used for the ``eval/*`` rows of validation; rank 0 only)."""
        if self._out is None:
            self._out = JsonlAppender(self.path)
        self._out.write({k: clean_number(v) for k, v in row.items()})

    def on_train_end(self, args, state, control, **kwargs):
        if self._out is not None:
            self._out.close()
            self._out = None


class RichProgressCallback(TrainerCallback):
    """A live progress bar (rank 0): the last step's reward, and running means over the last
    ``window`` logged steps of the reward and the strict accuracy, with the mean completion length.
    One step's reward is noisy; the running means show the trend."""

    def __init__(self, window: int = 10) -> None:
        self.progress = None
        self.task = None
        self.window = window
        self.rewards: deque[float] = deque(maxlen=window)
        self.accuracies: deque[float] = deque(maxlen=window)

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        from rich.progress import TextColumn

        self.progress = make_progress(TextColumn("{task.fields[stats]}"))
        self.progress.start()
        self.task = self.progress.add_task(
            "train", total=state.max_steps, completed=state.global_step, stats=""
        )

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.progress is None or not logs or "reward" not in logs:
            return
        self.progress.update(self.task, completed=state.global_step, stats=self.line(logs))

    def line(self, logs: dict[str, Any]) -> str:
        """``reward 0.412 | mean of last 10: reward 0.380 acc 0.35 | len 23``."""
        reward = clean_number(logs.get("reward"))
        acc = clean_number(logs.get("answers/strict_accuracy"))
        length = clean_number(logs.get("completions/mean_length"))
        if reward is not None:
            self.rewards.append(reward)
        if acc is not None:
            self.accuracies.append(acc)
        text = f"reward {reward:.3f}" if reward is not None else "reward -"
        if self.rewards:
            text += f" | mean of last {len(self.rewards)}: reward {sum(self.rewards) / len(self.rewards):.3f}"
            if self.accuracies:
                text += f" acc {sum(self.accuracies) / len(self.accuracies):.2f}"
        return text + (f" | len {length:.0f}" if length is not None else "")

    def on_train_end(self, args, state, control, **kwargs):
        if self.progress is not None:
            self.progress.update(self.task, completed=state.global_step)
            self.progress.stop()
            self.progress = None

"""metrics.jsonl / completions.jsonl writers, exactly-once truncation and the live progress line."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

from medzero.train.callbacks import (
    CompletionsWriter,
    MetricsCallback,
    clean_number,
    truncate_after_step,
)


def state(step: int, zero: bool = True) -> SimpleNamespace:
    return SimpleNamespace(global_step=step, epoch=step / 10, is_world_process_zero=zero)


def read(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_metrics_callback_writes_one_line_per_log_and_keeps_summary_apart(tmp_path):
    cb = MetricsCallback(tmp_path / "metrics.jsonl")
    for step in (1, 2):
        cb.on_log(None, state(step), None, logs={"loss": 0.5, "reward": float("nan"), "kl": step})
    cb.on_log(None, state(2), None, logs={"train_runtime": 3.0, "train_loss": 0.1})
    cb.on_log(None, state(3, zero=False), None, logs={"loss": 1.0})  # other ranks write nothing
    cb.on_train_end(None, state(2), None)
    rows = read(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2]
    assert rows[0] == {"step": 1, "epoch": 0.1, "loss": 0.5, "reward": None, "kl": 1}
    assert cb.summary["train_runtime"] == 3.0


def test_completions_writer_layout(tmp_path):
    w = CompletionsWriter(tmp_path / "c.jsonl", {"accuracy": 1.0, "format": 0.5})
    n = w.write_step(
        3,
        prompt_ids=["q1", "q1", "q2", "q2"],
        golds=["A", "A", "B", "B"],
        completions=[[{"role": "assistant", "content": "x"}], "y", "z", "w"],
        token_lengths=[4, 16, 2, 3],
        truncated=[False, True, False, False],
        rewards={"accuracy": [1.0, 0.0, math.nan, 1.0], "format": [1.0, 1.0, math.nan, 0.0]},
        advantages=[0.7, -0.7, 0.0, 0.1],
        num_generations=2,
        local_size=2,
    )
    w.close()
    rows = read(tmp_path / "c.jsonl")
    assert n == 4 and [r["sample"] for r in rows] == [0, 1, 0, 1]
    assert [r["rank"] for r in rows] == [0, 0, 1, 1]
    assert rows[0]["completion"] == "x" and rows[0]["reward"] == 1.5
    assert rows[1]["truncated"] is True and rows[1]["completion_tokens"] == 16 and rows[1]["reward"] == 0.5
    assert rows[2]["rewards"] == {"accuracy": None, "format": None} and rows[2]["reward"] is None
    assert set(rows[3]) == {
        "step", "prompt_id", "sample", "completion", "completion_tokens", "truncated",
        "rewards", "reward", "advantage", "gold", "rank",
    }  # fmt: skip


def test_truncate_after_step_drops_newer_lines_and_a_torn_tail(tmp_path):
    p = tmp_path / "m.jsonl"
    p.write_text("".join(json.dumps({"step": s}) + "\n" for s in (1, 2, 2, 3, 4)) + '{"step": 5, "lo')
    assert truncate_after_step(p, 2) == 2
    assert [r["step"] for r in read(p)] == [1, 2, 2]
    assert truncate_after_step(tmp_path / "absent.jsonl", 1) == 0


def test_helpers():
    assert clean_number(float("inf")) is None and clean_number(2.5) == 2.5


def test_progress_line_shows_running_means_over_the_last_steps():
    from medzero.train.callbacks import RichProgressCallback

    cb = RichProgressCallback(window=3)
    lines = [
        cb.line({"reward": r, "answers/strict_accuracy": a, "completions/mean_length": 20.0})
        for r, a in ((0.0, 0.0), (0.3, 0.25), (0.6, 0.5), (0.9, 0.75))
    ]
    assert lines[0] == "reward 0.000 | mean of last 1: reward 0.000 acc 0.00 | len 20"
    # the window keeps the last 3 steps: (0.3 + 0.6 + 0.9) / 3 and (0.25 + 0.5 + 0.75) / 3
    assert lines[-1] == "reward 0.900 | mean of last 3: reward 0.600 acc 0.50 | len 20"
    assert cb.line({"reward": None}) == "reward - | mean of last 3: reward 0.600 acc 0.50"


def test_the_logged_completion_is_the_text_the_rewards_read(tmp_path):
    """A multi-message completion (a tool turn) is logged as the extractor and the rewards read
    it: the last assistant message, not every message joined."""
    from medzero.extract import extract

    turns = [
        {"role": "assistant", "content": "<answer>A</answer> let me check"},
        {"role": "tool", "content": "<answer>C</answer>"},
        {"role": "assistant", "content": "<think>ok</think><answer>B</answer>"},
    ]
    w = CompletionsWriter(tmp_path / "c.jsonl", {"accuracy": 1.0})
    w.write_step(1, prompt_ids=["q"], golds=["B"], completions=[turns], token_lengths=[9], truncated=[False],
                 rewards={"accuracy": [1.0]}, advantages=None, num_generations=1, local_size=1)  # fmt: skip
    w.close()
    logged = read(tmp_path / "c.jsonl")[0]["completion"]
    assert logged == "<think>ok</think><answer>B</answer>"
    assert extract(logged, "ABCD") == extract(turns, "ABCD")

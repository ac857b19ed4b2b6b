"""metrics.jsonl / completions.jsonl writers, exactly-once truncation and the collapse guard."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

from transformers import TrainerControl

from medzero.train.callbacks import (
    CollapseGuard,
    CompletionsWriter,
    MetricsCallback,
    clean_number,
    completion_text,
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


def test_collapse_guard_needs_patience_and_both_signs():
    guard = CollapseGuard("stop", patience=3)
    control = TrainerControl()
    collapsed = {"frac_reward_zero_std": 1.0, "completions/clipped_ratio": 1.0}
    guard.on_log(None, state(1), control, logs=collapsed)
    guard.on_log(None, state(2), control, logs={**collapsed, "completions/clipped_ratio": 0.5})  # resets
    for step in (3, 4):
        guard.on_log(None, state(step), control, logs=collapsed)
    assert not control.should_training_stop
    guard.on_log(None, state(5), control, logs=collapsed)
    assert control.should_training_stop and guard.fired_at == 5
    warn = CollapseGuard("warn", patience=1)
    c2 = TrainerControl()
    warn.on_log(None, state(1), c2, logs=collapsed)
    assert warn.fired_at == 1 and not c2.should_training_stop


def test_helpers():
    assert clean_number(float("inf")) is None and clean_number(2.5) == 2.5
    assert completion_text([{"role": "assistant", "content": "a"}]) == "a" and completion_text("b") == "b"

"""The collapse guard names what it observed (truncation with the cap and lengths, one constant
letter with its share, stuck groups), fires after `patience` steps, and stops the run on request."""

from __future__ import annotations

from types import SimpleNamespace

from transformers import TrainerControl

from medzero.train.guard import CollapseGuard, answer_stats

OPTS = [["alpha", "beta", "gamma", "delta"]]


def state(step: int) -> SimpleNamespace:
    return SimpleNamespace(global_step=step, is_world_process_zero=True)


def logs(zero_std=1.0, clipped=0.0, mean=10.0):
    return {
        "frac_reward_zero_std": zero_std,
        "completions/clipped_ratio": clipped,
        "completions/mean_length": mean,
        "completions/min_length": mean - 2,
        "completions/max_length": mean + 2,
        "reward": 0.0,
    }


def run(guard: CollapseGuard, steps: int, log: dict, answers=None) -> TrainerControl:
    control = TrainerControl()
    for step in range(1, steps + 1):
        if answers is not None:
            guard.observe(answers)
        guard.on_log(SimpleNamespace(max_completion_length=24), state(step), control, logs=log)
    return control


def test_answer_stats_letters_groups_and_accuracy():
    texts = ["<answer>B</answer>", "<answer>B</answer>", "<answer>C</answer>", "no answer here"]
    s = answer_stats(texts, ["B", "B", "A", "A"], OPTS * 4, [1.2, 1.2, 0.2, 0.0], [False] * 3 + [True], 2)
    assert s.completions == 4 and s.correct == 2 and s.truncated == 1 and s.accuracy == 0.5
    assert s.letters == {"B": 2, "C": 1, None: 1} and s.top_letter() == ("B", 0.5)
    assert (s.groups, s.solved_groups, s.stuck_groups) == (2, 1, 0)  # group 1 solved, group 2 has spread
    same = answer_stats(texts[2:], ["A", "A"], OPTS * 2, [0.0, 0.0], [False, False], 2)
    assert same.stuck_groups == 1
    merged = s.merge(same)
    assert merged.completions == 6 and merged.stuck_groups == 1 and merged.letters["C"] == 2


def test_all_truncated_names_the_cap_and_lengths_and_not_the_learning_rate():
    """The issue's run 1: every completion cut at the 24-token cap, every reward 0."""
    guard = CollapseGuard("stop", patience=3)
    cut = answer_stats(
        ["<think>the question is"] * 4, ["A", "B", "C", "D"], OPTS * 4, [0.0] * 4, [True] * 4, 2
    )
    control = run(guard, 2, logs(clipped=1.0, mean=24.0), cut)
    assert not control.should_training_stop and guard.fired_at is None  # patience not reached
    control = run(guard, 1, logs(clipped=1.0, mean=24.0), cut)
    assert control.should_training_stop and guard.fired_at == 1
    assert guard.causes == ["truncated", "zero_variance"]
    msg = guard.message
    assert "100% of completions were cut at max_completion_length=24 tokens" in msg
    assert "mean 24, min 22, max 26" in msg and "--set grpo.max_completion_length=48" in msg
    assert "learning rate" not in msg


def test_constant_letter_names_the_letter_and_share():
    """The issue's run 2: one letter for every question (gold letters balanced)."""
    guard = CollapseGuard("warn", patience=2)
    texts = ["<think>x</think><answer>C</answer>"] * 8
    golds = ["A", "A", "B", "B", "C", "C", "D", "D"]
    answers = answer_stats(texts, golds, OPTS * 8, [1.2, 1.2, 1.2, 1.2, 0.2, 0.2, 0.2, 0.2], [False] * 8, 2)
    control = run(guard, 2, logs(zero_std=1.0), answers)
    assert guard.fired_at == 2 and not control.should_training_stop  # warn: keeps training
    assert guard.causes[0] == "constant_letter"
    assert (
        "100% of completions answer C while the gold letters vary (the most common, A, is 25%)"
        in guard.message
    )
    assert "learning rate" not in guard.message


def test_stuck_groups_alone_suggest_the_learning_rate_solved_groups_do_not_fire():
    texts = ["<answer>A</answer>", "<answer>A</answer>", "<answer>B</answer>", "<answer>B</answer>"]
    # every group gets one reward for all its completions, answers differ between groups, half right
    stuck = answer_stats(texts, ["A", "A", "C", "C"], OPTS * 4, [1.0, 1.0, 0.0, 0.0], [False] * 4, 2)
    assert stuck.stuck_groups == 1 and stuck.solved_groups == 1
    guard = CollapseGuard("stop", patience=2, threshold=0.5)
    run(guard, 2, logs(zero_std=1.0), stuck)
    assert guard.causes == ["zero_variance"] and "50% of question groups got the same reward" in guard.message
    assert "lower the learning rate" in guard.message

    solved = answer_stats(texts, ["A", "A", "B", "B"], OPTS * 4, [1.0] * 4, [False] * 4, 2)
    quiet = CollapseGuard("stop", patience=2)
    control = run(quiet, 5, logs(zero_std=1.0), solved)  # all correct: zero spread, but nothing to learn
    assert quiet.fired_at is None and not control.should_training_stop


def test_never_right_says_out_of_reach():
    texts = ["<answer>A</answer>", "<answer>B</answer>"] * 2
    wrong = answer_stats(texts, ["C", "C", "D", "D"], OPTS * 4, [0.2] * 4, [False] * 4, 2)
    guard = CollapseGuard("stop", patience=1)
    run(guard, 1, logs(zero_std=1.0), wrong)
    assert guard.causes == ["zero_variance"] and "No completion is ever right" in guard.message


def test_a_sign_must_persist_and_off_does_nothing():
    guard = CollapseGuard("stop", patience=3)
    control = TrainerControl()
    args = SimpleNamespace(max_completion_length=24)
    for step, clipped in enumerate((1.0, 1.0, 0.5, 1.0, 1.0), start=1):  # the 0.5 resets the streak
        guard.on_log(args, state(step), control, logs=logs(zero_std=0.2, clipped=clipped))
    assert guard.fired_at is None
    guard.on_log(args, state(6), control, logs=logs(zero_std=0.2, clipped=1.0))
    assert guard.fired_at == 6 and guard.causes == ["truncated"]
    off = CollapseGuard("off", patience=1)
    assert not run(off, 3, logs(clipped=1.0)).should_training_stop and off.fired_at is None


def test_a_real_run_the_guard_stops_exits_3_and_says_why(tiny_model_dir, tmp_path, capsys):
    """A 2-token cap: every completion is cut. `medzero train` exits with status 3 (not 0), prints
    the cause, and run_info.json records it; the live metrics carry the answer-letter metrics."""
    import json

    import pytest
    import yaml

    from medzero.cli import main

    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        yaml.safe_dump(
            {
                "model": {"name_or_path": str(tiny_model_dir)},
                "data": {"synthetic": 8},
                "rewards": {"accuracy": 1.0, "format": 0.2},
                "guard": {"action": "stop", "patience": 2},
                "validation": {"benchmark": "sample", "every": 10, "limit": 2},
                "grpo": {
                    "num_generations": 2,
                    "per_device_train_batch_size": 4,
                    "max_completion_length": 2,
                    "max_steps": 5,
                    "save_steps": 5,
                    "gradient_checkpointing": False,
                    "seed": 0,
                },
            }
        )
    )
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exc:
        main(["train", str(recipe), "--out", str(out)])
    assert exc.value.code == 3
    captured = capsys.readouterr()
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["status"] == "stopped" and summary["step"] == 2
    assert summary["collapse_guard"]["causes"][0] == "truncated"
    assert (
        "stopped by the collapse guard" in captured.err and "max_completion_length=2 tokens" in captured.err
    )
    info = json.loads((out / "run_info.json").read_text())
    assert info["status"] == "stopped" and info["collapse_guard"]["step"] == 2
    assert (out / "final" / "config.json").is_file()  # the model is still saved
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    train_rows = [r for r in rows if "loss" in r]
    assert len(train_rows) == 2
    assert all("answers/strict_accuracy" in r and "answers/top_letter_share" in r for r in train_rows)
    # validation every 10 steps, but the guard stopped at step 2: that step is validated too
    assert [(r["step"], r["eval/n"]) for r in rows if "eval/strict" in r] == [(2, 2)]
    assert json.loads((out / "best" / "best.json").read_text())["step"] == 2

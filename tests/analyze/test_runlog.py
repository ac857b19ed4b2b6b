import json

import numpy as np
import pytest

from medzero.analyze.runlog import load_run, normalise_metric_name
from medzero.errors import DataError
from medzero.outdir import output_lock


def _write_jsonl(path, rows, tail=""):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + tail, encoding="utf-8")


def _completion(step, pid="q1", sample=0, **kw):
    rec = {"step": step, "prompt_id": pid, "sample": sample, "completion": "<answer>A</answer>",
           "completion_tokens": 10, "truncated": False, "rewards": {"accuracy": 1.0, "format": None},
           "reward": 1.0, "advantage": 0.0, "gold": "A", "rank": 0}  # fmt: skip
    rec.update(kw)
    return rec


def test_reads_a_synthetic_run(planted_run):
    run, truth = planted_run
    log = load_run(run)
    assert log.kind == "run_dir" and log.issues == []
    assert len(log.completions) == truth["completions"] and list(log.steps) == list(range(1, 41))
    c = log.completions
    assert set(c.components) == {"accuracy", "format"} and c.group.max() + 1 == 40 * 8
    assert log.config["num_generations"] == 8 and "reward" in log.metrics


def test_torn_last_line_and_bad_fields_are_skipped_with_file_and_line(tmp_path):
    _write_jsonl(tmp_path / "metrics.jsonl", [{"step": 1, "reward": 0.5}, {"step": "x"}])
    _write_jsonl(tmp_path / "completions.jsonl", [_completion(1), _completion(1, completion=3)],
                 tail='{"step": 2, "prompt_id": "q')  # fmt: skip
    log = load_run(tmp_path)
    assert len(log.completions) == 1 and list(log.steps) == [1]
    text = "\n".join(log.issues)
    assert f"{tmp_path / 'completions.jsonl'}:3: invalid JSON" in text and "torn last line" in text
    assert 'completions.jsonl:2: field "completion": expected a string, got int' in text
    assert 'metrics.jsonl:2: field "step": expected an integer' in text
    assert "config.yaml: missing" in text


def test_null_reward_component_is_nan_not_zero(tmp_path):
    _write_jsonl(tmp_path / "completions.jsonl", [_completion(1), _completion(1, rewards={"accuracy": 0.0})])
    c = load_run(tmp_path).completions
    assert np.isnan(c.components["format"]).all() and list(c.components["accuracy"]) == [1.0, 0.0]


def test_missing_and_empty_inputs(tmp_path):
    with pytest.raises(DataError, match="no such file or directory"):
        load_run(tmp_path / "nope")
    log = load_run(tmp_path)  # an empty directory: a partial result that says why
    assert log.completions is None and not log.metrics
    assert any("empty run" in i for i in log.issues) and any(
        "metrics.jsonl: missing" in i for i in log.issues
    )


def test_metrics_step_logged_twice_is_merged(tmp_path):
    _write_jsonl(tmp_path / "metrics.jsonl", [{"step": 3, "reward": 1.0}, {"step": 3, "train_runtime": 9.0}])
    log = load_run(tmp_path / "metrics.jsonl")
    assert (
        log.kind == "metrics_jsonl"
        and log.metrics["reward"][0] == 1.0
        and log.metrics["train_runtime"][0] == 9.0
    )


def test_wandb_csv_export(tmp_path):
    csv = tmp_path / "export.csv"
    csv.write_text(
        "Step,run-7 - train/reward,run-7 - train/reward__MIN,run-7 - train/reward__MAX,"
        "run-7 - train/completions/mean_length,run-7 - train/rewards/accuracy/mean\n"
        "1,0.1,0.0,0.2,100,0.1\n2,0.3,0.2,0.4,,0.3\n3,0.5,0.4,0.6,140,0.5\n",
        encoding="utf-8",
    )
    log = load_run(csv)
    assert log.kind == "wandb_csv"
    assert set(log.metrics) == {"step", "reward", "completions/mean_length", "rewards/accuracy/mean"}
    assert list(log.metrics["reward"]) == [0.1, 0.3, 0.5] and np.isnan(
        log.metrics["completions/mean_length"][1]
    )


def test_wandb_csv_without_step_column_names_the_header(tmp_path):
    (tmp_path / "x.csv").write_text("reward,kl\n1,2\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"x.csv:1: no step column"):
        load_run(tmp_path / "x.csv")


def test_tensorboard_event_dir_written_by_summarywriter(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(tmp_path / "runs" / "a"))
    for step in range(1, 6):
        w.add_scalar("train/reward", 0.1 * step, step)
        w.add_scalar("train/completions/mean_length", 50 + step, step)
        w.add_scalar("train/global_step", step, step)
    w.close()
    log = load_run(tmp_path / "runs")
    assert log.kind == "tensorboard"
    assert list(log.steps) == [1, 2, 3, 4, 5]
    assert log.metrics["reward"] == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5])
    assert "global_step" not in log.metrics


@pytest.mark.parametrize(
    "raw,name",
    [("train/reward", "reward"), ("my run - train/rewards/acc/mean", "rewards/acc/mean"), ("kl", "kl")],
)
def test_metric_names_normalised_to_trl(raw, name):
    assert normalise_metric_name(raw) == name


def _running_run(tmp_path, with_lock_file=True):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run_info.json").write_text(json.dumps({"status": "running"}))
    if with_lock_file:
        (run / ".medzero.lock").write_text('{"pid": 1, "command": "train"}\n')
    return run


def test_a_running_run_whose_lock_is_free_was_interrupted(tmp_path):
    log = load_run(_running_run(tmp_path))  # the lock file is left, no process holds it: killed
    assert log.run_info["status"] == "interrupted"
    assert any("interrupted" in i and "--resume" in i for i in log.issues)


def test_a_run_whose_lock_is_held_is_still_running(tmp_path):
    run = _running_run(tmp_path)
    with output_lock(run, "train"):
        log = load_run(run)
    assert log.run_info["status"] == "running" and not any("interrupted" in i for i in log.issues)


def test_a_run_without_a_lock_file_keeps_its_status(tmp_path):
    # written through the Python API (no lock): nothing tells a live run from a dead one
    assert load_run(_running_run(tmp_path, with_lock_file=False)).run_info["status"] == "running"

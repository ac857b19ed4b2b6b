"""Sampled evaluation is reproducible: every (question, sample) has its own seed, so batching,
chunking and resumption do not change what is drawn (the tiny model on CPU)."""

import json

from medzero.evaluate.config import EvalConfig
from medzero.evaluate.runner import evaluate


def _outputs(out):
    rows = [json.loads(x) for x in (out / "items.jsonl").read_text().splitlines()]
    return {(r["id"], r["sample"]): r["output"] for r in rows}


def _cfg(model_dir, question_file, out, batch_size):
    return EvalConfig(
        model=str(model_dir),
        out=str(out),
        benchmarks=[f"file:{question_file}"],
        samples=2,
        temperature=1.0,
        max_new_tokens=6,
        seed=3,
        batch_size=batch_size,
        device="cpu",
        n_boot=50,
    )


def test_same_samples_for_batch_sizes_1_4_16_and_after_a_resume(noisy_model_dir, question_file, tmp_path):
    runs = {}
    for bs in (1, 4, 16):
        evaluate(_cfg(noisy_model_dir, question_file, tmp_path / f"bs{bs}", bs))
        runs[bs] = _outputs(tmp_path / f"bs{bs}")
    assert len(runs[1]) == 20 and runs[1] == runs[4] == runs[16]
    assert len(set(runs[1].values())) > 5  # the samples really differ
    # a kill after some items: keep the first 7 lines (one question's second sample is missing)
    items = tmp_path / "bs4" / "items.jsonl"
    items.write_text("".join(items.read_text().splitlines(keepends=True)[:7]))
    evaluate(_cfg(noisy_model_dir, question_file, tmp_path / "bs4", 4))
    assert _outputs(tmp_path / "bs4") == runs[1]
    assert len(items.read_text().splitlines()) == 20

"""Same seed, same machine: byte-identical weights, completions and held-out scores.

A few warm-up and GRPO steps of the shipped tiny recipe on a user's own file, run twice. Numbers
that differ between *machines* (CPU instruction sets, thread counts, library builds) are not
covered: docs/demo.md says which those are."""

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medzero.cli import build_app
from medzero.data.synthetic_tasks import task_questions
from medzero.jsonl import write_jsonl

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "tiny-cpu.yaml"
FAST = [
    "warmup.params.steps=4",
    "warmup.params.max_steps=0",
    "grpo.max_steps=3",
    "grpo.per_device_train_batch_size=16",
    "grpo.save_steps=3",
]


def _run(tmp_path: Path, name: str, train: Path, heldout: Path) -> dict:
    from medzero.demo.run import evaluate_model, scores_of
    from medzero.train.recipe import load_recipe

    run = tmp_path / name
    sets = [f"data.path={train}", *FAST]
    argv = ["train", str(RECIPE), *[a for s in sets for a in ("--set", s)], "--out", str(run)]
    result = CliRunner().invoke(build_app(), argv)
    assert result.exit_code == 0, result.output
    recipe = load_recipe(RECIPE, sets)
    scores = scores_of(evaluate_model(run / "final", tmp_path / f"eval-{name}", [f"file:{heldout}"], recipe))
    completions = [
        {k: v for k, v in json.loads(line).items() if "time" not in k}
        for line in (run / "completions.jsonl").read_text().splitlines()
    ]
    return {
        "weights": hashlib.sha256((run / "final" / "model.safetensors").read_bytes()).hexdigest(),
        "warmup": hashlib.sha256((run / "warmup" / "model.safetensors").read_bytes()).hexdigest(),
        "completions": completions,
        "scores": json.dumps(scores, sort_keys=True),
    }


@pytest.mark.slow
def test_same_seed_gives_byte_identical_results(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDZERO_CACHE", str(tmp_path / "cache"))
    train, heldout = tmp_path / "train.jsonl", tmp_path / "heldout.jsonl"
    write_jsonl(train, [q.to_dict() for q in task_questions("term-prefix", 64, 0, n_options=8)])
    write_jsonl(heldout, [q.to_dict() for q in task_questions("term-prefix", 32, 0, "heldout", 8)])
    a = _run(tmp_path, "a", train, heldout)
    b = _run(tmp_path, "b", train, heldout)
    assert a["completions"] and a == b

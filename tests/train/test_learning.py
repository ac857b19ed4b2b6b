"""The seeded tiny pipeline learns: `medzero train recipes/tiny-cpu.yaml` (format warm-up + GRPO)
raises held-out accuracy on unseen drug names far above the warmed-up model's chance level."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medzero.cli import build_app
from medzero.data.synthetic import SYNTHETIC_PROMPT_CONFIG, drug_class_questions
from medzero.jsonl import write_jsonl

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "tiny-cpu.yaml"


@pytest.mark.slow
def test_tiny_recipe_learns_the_rule_on_unseen_names(tmp_path, tiny_model_dir, monkeypatch):
    from medzero.evaluate.compare import compare_runs
    from medzero.evaluate.config import EvalConfig
    from medzero.evaluate.runner import evaluate

    monkeypatch.setenv("MEDZERO_CACHE", str(tiny_model_dir.parent))  # reuse the session's tiny model
    run = tmp_path / "run"
    result = CliRunner().invoke(build_app(), ["train", str(RECIPE), "--out", str(run)])
    assert result.exit_code == 0, result.output

    heldout = tmp_path / "heldout.jsonl"
    write_jsonl(heldout, [q.to_dict() for q in drug_class_questions(200, seed=0, split="heldout")])
    acc = {}
    for name, model in (("warmup", run / "warmup"), ("final", run / "final")):
        cfg = EvalConfig(
            model=str(model),
            out=str(tmp_path / f"eval-{name}"),
            benchmarks=[f"file:{heldout}"],
            template=SYNTHETIC_PROMPT_CONFIG.template,  # type: ignore[arg-type]
            max_new_tokens=24,
            batch_size=64,
            device="cpu",
        )
        acc[name] = evaluate(cfg).score(f"file:{heldout}", "strict")
    assert acc["warmup"] < 0.4, acc  # the warm-up teaches the format, not the answers
    assert acc["final"] > acc["warmup"] + 0.3, acc
    (diff,) = [
        d for d in compare_runs(tmp_path / "eval-final", tmp_path / "eval-warmup") if d.mode == "strict"
    ]
    assert diff.diff.low > 0.2, diff

    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    acc_key = next(k for k in rows[0] if k.startswith("rewards/") and "accuracy" in k and k.endswith("/mean"))
    steps = [r for r in rows if acc_key in r]  # training steps (the recipe's validation rows are eval/*)
    assert any("eval/strict" in r for r in rows)  # the recipe's holdout validation ran
    first = sum(s[acc_key] for s in steps[:20]) / 20
    last = sum(s[acc_key] for s in steps[-20:]) / 20
    assert last > first + 0.3, (first, last)

"""`medzero demo`: the quick run exercises every stage; the full seeded run must learn."""

import json

import pytest
from typer.testing import CliRunner

from medzero.cli import build_app
from medzero.demo.run import DemoConfig, run_demo, sanity_benchmarks
from medzero.errors import ConfigError


def test_config_defaults_and_quick_sizes():
    full, quick = DemoConfig(), DemoConfig(quick=True)
    assert (full.steps, full.n_heldout, full.warmup_steps, full.validate_every) == (300, 200, 300, 25)
    assert (quick.steps, quick.n_heldout, quick.warmup_steps, quick.validate_every) == (30, 64, 60, 10)
    assert DemoConfig(quick=True, steps=5).steps == 5
    with pytest.raises(ConfigError, match="steps"):
        DemoConfig(steps=0)


def test_sanity_benchmarks_lists_the_real_files_found(shared_data, tmp_path):
    found = sanity_benchmarks(shared_data)
    assert "medqa" in found and "medxpertqa" in found
    assert sanity_benchmarks(tmp_path) == []


def _run(tmp_path, tiny_model_dir, *args):
    out = tmp_path / "demo-out"
    argv = ["demo", "--out", str(out), "--cache-dir", str(tiny_model_dir.parent), *args]
    result = CliRunner().invoke(build_app(), argv)
    assert result.exit_code == 0, result.output
    return out, json.loads((out / "demo.json").read_text())


@pytest.mark.slow
def test_quick_demo_runs_every_stage(tmp_path, tiny_model_dir):
    out, res = _run(tmp_path, tiny_model_dir, "--quick")
    assert (out / "report.html").is_file() and (out / "compare.md").is_file()
    manifest = json.loads((out / "data" / "manifest.json").read_text())
    assert manifest["counts"] == {"synthetic": 512} and manifest["heldout_counts"] == {"synthetic": 64}
    for model in ("untrained", "warmup", "grpo"):
        (held,) = [b for b in res["scores"][model] if b.startswith("file:")]
        assert set(res["scores"][model][held]) >= {"strict", "last", "lenient"}
    assert (out / "run" / "completions.jsonl").stat().st_size > 0
    owned = json.loads((out / ".medzero-owned.json").read_text())["paths"]  # what --overwrite may remove
    assert {p.name for p in out.iterdir()} - {".medzero-owned.json", ".medzero.lock"} <= set(owned)
    # The warm-up teaches the format: nearly every answer is extractable, at chance accuracy.
    (held,) = [b for b in res["scores"]["warmup"] if b.startswith("file:")]
    assert res["scores"]["warmup"][held]["no_answer"]["strict"] < 0.1
    # the contract other checks use: held-out strict accuracy before and after GRPO, as fractions
    h = res["heldout"]
    assert h["before"] == res["scores"]["warmup"][held]["strict"]["estimate"]
    assert h["final"] == res["scores"]["grpo"][held]["strict"]["estimate"]
    assert h["after_model"] == "best" and h["after"] == h["best"]  # validation kept run/best
    assert (out / "run" / "best" / "config.json").is_file() and (out / "data" / "validation.jsonl").is_file()
    with pytest.raises(ConfigError, match="already holds"):
        run_demo(DemoConfig(out=out, quick=True, cache_dir=tiny_model_dir.parent))


@pytest.mark.slow
def test_full_demo_learns_beyond_the_confidence_interval(tmp_path, tiny_model_dir):
    _, res = _run(tmp_path, tiny_model_dir, "--seed", "0")
    (held,) = [b for b in res["scores"]["grpo"] if b.startswith("file:")]
    before = res["scores"]["warmup"][held]["strict"]
    after = res["scores"]["grpo"][held]["strict"]
    assert before["estimate"] < 0.4, before  # the warm-up alone is at chance
    assert after["low"] > before["high"], (before, after)  # CIs do not overlap
    assert res["learned"]


def test_out_dir_with_an_earlier_run_is_refused_or_replaced(tmp_path):
    from medzero.demo.run import claim_out_dir

    out = tmp_path / "demo-out"
    claim_out_dir(out, overwrite=False)  # a new folder is fine
    (out / "run").mkdir(parents=True)
    (out / "run" / "metrics.jsonl").write_text("{}\n")
    (out / "keep.txt").write_text("precious")  # the user's, added after the demo ran
    with pytest.raises(ConfigError, match="--overwrite"):
        claim_out_dir(out, overwrite=False)
    claim_out_dir(out, overwrite=True)
    assert not (out / "run").exists()  # the demo's own output is replaced ...
    assert (out / "keep.txt").read_text() == "precious"  # ... and nothing else


def test_a_folder_that_is_not_a_demos_is_never_removed(tmp_path):
    from medzero.demo.run import claim_out_dir

    other = tmp_path / "not-a-demo"
    (other / "run").mkdir(parents=True)
    (other / "run" / "metrics.jsonl").write_text("{}\n")  # looks like a run, but has no demo marker
    (other / "keep.txt").write_text("x")
    for overwrite in (False, True):
        with pytest.raises(ConfigError, match="not empty"):
            claim_out_dir(other, overwrite=overwrite)
    assert (other / "keep.txt").exists() and (other / "run" / "metrics.jsonl").exists()


def test_the_shipped_recipe_is_found():
    from medzero.demo.run import RECIPE

    assert RECIPE.is_file(), RECIPE  # demo/run.py sits one folder deeper than demo.py did


def test_validation_questions_use_names_of_neither_training_nor_heldout():
    from medzero.data.synthetic import drug_class_questions
    from medzero.demo.run import validation_questions

    cfg = DemoConfig(seed=3)
    train = drug_class_questions(cfg.n_train, 3, "train")
    held = drug_class_questions(200, 3, "heldout")
    val = validation_questions(cfg, train)
    names = {q.meta["drug"] for q in val}
    assert len(val) == cfg.n_validation and len({q.id for q in val}) == len(val)
    assert not names & {q.meta["drug"] for q in train} and not names & {q.meta["drug"] for q in held}

"""Validation during training: the recipe section, its pre-flight checks, the scores it logs and
RUN_DIR/best (chosen by strict accuracy, ties keep the earliest step, the model of that step)."""

from __future__ import annotations

import json

import pytest

from medzero.errors import ConfigError
from medzero.train.recipe import load_recipe, recipe_from_dict
from medzero.train.validation import BestTracker, ValidationSection, load_validation, scores


def mcq_line(i: int, answer: str = "B") -> str:
    return json.dumps(
        {
            "id": f"v{i}",
            "source": "held",
            "question": f"Validation question number {i}?",
            "options": {"A": "alpha", "B": "beta", "C": "gamma", "D": "delta"},
            "answer": answer,
        }
    )


def write_questions(path, n: int) -> None:
    path.write_text("\n".join(mcq_line(i) for i in range(n)) + "\n")


def base(**validation):
    return {
        "model": {"name_or_path": "tiny"},
        "data": {"synthetic": 8},
        "validation": validation,
    }


# ---------------------------------------------------------------------------------- recipe section


def test_validation_section_defaults_and_range_errors_name_the_line(tmp_path):
    r = recipe_from_dict(base())
    assert not r.validation.enabled and r.validation.every == 50 and r.validation.limit == 200
    r = recipe_from_dict(base(benchmark="file:x.jsonl", every=5, limit=3))
    assert r.validation.enabled and (r.validation.every, r.validation.limit) == (5, 3)
    dumped = r.to_yaml()
    assert "validation:\n  benchmark: file:x.jsonl\n" in dumped and "\n  every: 5\n" in dumped

    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "model:\n  name_or_path: tiny\ndata:\n  synthetic: 8\nvalidation:\n  benchmark: sample\n  every: 0\n"
    )
    with pytest.raises(ConfigError, match=r'r\.yaml:7: "validation\.every" must be >= 1, got 0'):
        load_recipe(recipe)
    with pytest.raises(ConfigError, match=r'"validation\.limit" must be >= 1, got 0'):
        recipe_from_dict(base(benchmark="sample", limit=0))
    with pytest.raises(ConfigError, match=r'unknown key "validation\.evry".*validation\.every'):
        recipe_from_dict(base(benchmark="sample", evry=3))
    with pytest.raises(ConfigError, match=r'"validation\.every" must be int'):
        recipe_from_dict(base(benchmark="sample", every="often"))


def test_load_validation_reads_file_relative_to_the_recipe_and_limits(tmp_path, monkeypatch):
    write_questions(tmp_path / "held.jsonl", 5)
    monkeypatch.chdir(tmp_path.parent)  # not where the file is: found through the recipe's folder
    loaded = load_validation(ValidationSection(benchmark="file:held.jsonl", limit=3), base_dir=tmp_path)
    assert [q.id for q in loaded.records] == ["v0", "v1", "v2"]  # a prefix, as `medzero eval --limit`
    assert loaded.benchmark.name == f"file:{tmp_path / 'held.jsonl'}"
    with pytest.raises(ConfigError, match="write file:"):
        load_validation(ValidationSection(benchmark=str(tmp_path / "held.jsonl")))
    assert len(load_validation(ValidationSection(benchmark="sample", limit=None)).records) > 5


# ---------------------------------------------------------------------------------- scores and best


def record(strict: bool, last: bool, lenient: bool, finish: str = "stop", tokens: int = 10) -> dict:
    return {
        "correct": {"strict": strict, "last": last, "lenient": lenient},
        "finish_reason": finish,
        "completion_tokens": tokens,
    }


def test_scores_per_extraction_mode():
    rows = [record(True, True, True), record(False, True, True, "length", 20), record(False, False, True)]
    s = scores(rows)
    assert s["eval/strict"] == pytest.approx(1 / 3) and s["eval/last"] == pytest.approx(2 / 3)
    assert s["eval/lenient"] == 1.0 and s["eval/n"] == 3
    assert s["eval/truncated"] == pytest.approx(1 / 3) and s["eval/mean_length"] == pytest.approx(40 / 3)
    assert scores([])["eval/strict"] is None and scores([])["eval/n"] == 0


def test_best_tracker_keeps_the_earliest_of_ties_and_swaps_atomically(tmp_path):
    best = BestTracker(tmp_path)
    assert best.load() is None and best.improves(0.0) and not best.improves(None)
    for step, score in ((2, 0.5), (4, 0.5), (6, 0.75)):
        if best.improves(score):
            best.tmp.mkdir()
            (best.tmp / "weights").write_text(str(step))
            best.commit({"step": step, "score": score})
    assert (tmp_path / "best" / "weights").read_text() == "6"
    assert json.loads((tmp_path / "best" / "best.json").read_text()) == {"step": 6, "score": 0.75}
    assert not best.improves(0.75) and best.improves(0.76)
    assert BestTracker(tmp_path).load() == {"step": 6, "score": 0.75}  # survives a restart

    # killed between the two renames of a swap: the previous best comes back, the half-new one goes
    (tmp_path / "best").rename(tmp_path / "best.old")
    (tmp_path / "best.tmp").mkdir()
    again = BestTracker(tmp_path)
    again.recover()
    assert (tmp_path / "best" / "weights").read_text() == "6"
    assert not (tmp_path / "best.tmp").exists() and not (tmp_path / "best.old").exists()


# ---------------------------------------------------------------------------------- pre-flight


def test_check_reports_missing_file_and_overlap_with_training(tmp_path):
    from medzero.data.synthetic import drug_class_questions
    from medzero.train.preflight import validation_findings

    recipe = recipe_from_dict(base(benchmark="file:nowhere.jsonl"))
    loaded, found = validation_findings(recipe, tmp_path, [])
    assert loaded is None and found[0].severity == "error" and "nowhere.jsonl" in found[0].message

    train = drug_class_questions(8, seed=0, split="train")
    held = tmp_path / "held.jsonl"
    rows = [json.loads(mcq_line(i)) for i in range(3)]
    rows += [{"id": q.id, "source": "x", "question": q.question, "options": q.options, "answer": q.answer}
             for q in train[:2]]  # fmt: skip
    held.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    recipe = recipe_from_dict(
        {**base(benchmark="file:held.jsonl", every=4), "grpo": {"max_completion_length": 24}}
    )
    loaded, found = validation_findings(recipe, tmp_path, train)
    assert len(loaded.records) == 5
    info = next(f for f in found if f.severity == "info")
    assert (
        "5 questions" in info.message
        and "every 4 steps" in info.message
        and "up to 24 new tokens" in info.message
    )
    warning = next(f for f in found if f.severity == "warning")
    assert warning.message.startswith("2 of 5 validation questions are also training questions")


# ---------------------------------------------------------------------------------- a real tiny run


def tiny_recipe(model_dir, held, **validation):
    return recipe_from_dict(
        {
            "model": {"name_or_path": str(model_dir)},
            "data": {"synthetic": 8},
            # `overlong` in characters varies between random completions: the weights move every step
            "rewards": {"accuracy": 1.0, "overlong": 1.0},
            "reward_params": {"overlong": {"max_completion_length": 40, "cache_length": 35, "unit": "chars"}},
            "guard": {"action": "off"},
            "validation": {"benchmark": f"file:{held}", "limit": 4, **validation},
            "grpo": {
                "num_generations": 2,
                "per_device_train_batch_size": 4,
                "max_completion_length": 8,
                "max_steps": 3,
                "learning_rate": 1e-3,
                "gradient_checkpointing": False,
                "save_steps": 2,
                "temperature": 1.2,
                "seed": 0,
            },
        }
    )


def rows(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_tiny_run_validates_logs_eval_rows_and_keeps_best(tiny_model_dir, tmp_path, monkeypatch):
    """Strict accuracy scripted per step (0.25, 0.5, 0.5, 0.25 at steps 0, 1, 2, 3): best is step 1,
    the earliest of the tie, and best/ holds the weights of step 1, not of a later step."""
    from safetensors.torch import load_file

    from medzero.train import validation_callback
    from medzero.train.runner import train

    held = tmp_path / "held.jsonl"
    write_questions(held, 6)
    script = {0: 1, 1: 2, 2: 2, 3: 1}  # correct answers out of 4, per step
    real_score, seen = validation_callback.ValidationCallback._score, {}

    def scripted(self, shard, args):
        result = real_score(self, shard, args)  # really generates (checks the engine runs on the policy)
        step = self.trainer.state.global_step
        seen[step] = [r["id"] for r in result.records]
        for i, r in enumerate(result.records):
            r["correct"] = {m: i < script[step] for m in ("strict", "last", "lenient")}
        return result

    monkeypatch.setattr(validation_callback.ValidationCallback, "_score", scripted)
    out = tmp_path / "run"
    info = train(tiny_recipe(tiny_model_dir, held, every=1, at_start=True), out, progress=False)
    assert info["status"] == "finished" and sorted(seen) == [0, 1, 2, 3]
    assert all(ids == ["v0", "v1", "v2", "v3"] for ids in seen.values())  # limit 4: the file's first 4

    evals = [r for r in rows(out / "metrics.jsonl") if "eval/strict" in r]
    assert [(r["step"], r["eval/strict"], r["eval/n"]) for r in evals] == [
        (0, 0.25, 4), (1, 0.5, 4), (2, 0.5, 4), (3, 0.25, 4)
    ]  # fmt: skip
    assert all(set(r) >= {"eval/last", "eval/lenient", "eval/truncated", "eval/mean_length"} for r in evals)
    assert [r["step"] for r in rows(out / "metrics.jsonl") if "loss" in r] == [1, 2, 3]
    items = rows(out / "validation.jsonl")
    assert len(items) == 16 and {r["step"] for r in items} == {0, 1, 2, 3}
    assert items[0]["benchmark"] == f"file:{held}" and "output" in items[0]

    best = json.loads((out / "best" / "best.json").read_text())
    assert best["step"] == 1 and best["score"] == 0.5 and best["metric"] == "eval/strict"
    assert info["best"]["step"] == 1 and info["validation"]["n"] == 4
    assert (out / "best" / "tokenizer_config.json").is_file()
    final = load_file(out / "final" / "model.safetensors")
    kept = load_file(out / "best" / "model.safetensors")
    assert any(not (kept[k] == final[k]).all() for k in final), (
        "best/ must hold step 1, not the final weights"
    )
    card = (out / "best" / "README.md").read_text()
    assert "[None]" not in card and str(tiny_model_dir) in card and "at step 1" in card


def test_model_cards_name_the_base_model(tmp_path):
    from medzero.train.modelcard import CardInfo, model_card

    hub = model_card(CardInfo(base_model="Qwen/Qwen2.5-0.5B-Instruct", warmup=True), "run/final")
    assert "base_model: Qwen/Qwen2.5-0.5B-Instruct" in hub
    assert (
        "fine-tuned version of [Qwen/Qwen2.5-0.5B-Instruct](https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct)"
        in hub
    )
    assert "format warm-up" in hub
    tiny = model_card(CardInfo(base_model="tiny", lora=True), "run/best")
    assert "base_model" not in tiny and "tiny local model" in tiny and "library_name: peft" in tiny
    (tmp_path / "m").mkdir()
    local = model_card(CardInfo(base_model=str(tmp_path / "m")), "x")
    assert f"the local model `{tmp_path / 'm'}`" in local and "None" not in local


def test_train_check_rejects_an_unreadable_validation_file(tiny_model_dir, tmp_path, capsys):
    from medzero.cli import main

    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        f"model:\n  name_or_path: {tiny_model_dir}\ndata:\n  synthetic: 8\n"
        "validation:\n  benchmark: file:missing.jsonl\n"
        "grpo:\n  num_generations: 2\n  per_device_train_batch_size: 4\n"
    )
    with pytest.raises(SystemExit) as exc:
        main(["train", str(recipe), "--check"])
    assert exc.value.code == 2
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    bad = [f for f in report["findings"] if f["check"] == "validation"]
    assert bad and bad[0]["severity"] == "error" and "missing.jsonl" in bad[0]["message"]


def test_validation_does_not_change_training(tiny_model_dir, tmp_path):
    """Greedy validation draws no random numbers and restores the training mode: a run with
    validation trains exactly like one without (same metrics, same final weights)."""
    from safetensors.torch import load_file

    from medzero.train.runner import train

    held = tmp_path / "held.jsonl"
    write_questions(held, 4)
    with_v = tiny_recipe(tiny_model_dir, held, every=1, at_start=True)
    without = tiny_recipe(tiny_model_dir, held)
    without.validation.benchmark = None
    train(with_v, tmp_path / "a", progress=False)
    train(without, tmp_path / "b", progress=False)
    keys = ("loss", "reward", "grad_norm", "completions/mean_length")

    def train_rows(run):
        return [{k: r[k] for k in keys} for r in rows(run / "metrics.jsonl") if "loss" in r]

    assert train_rows(tmp_path / "a") == train_rows(tmp_path / "b")
    a, b = (
        load_file(tmp_path / "a" / "final" / "model.safetensors"),
        load_file(tmp_path / "b" / "final" / "model.safetensors"),
    )
    assert all((a[k] == b[k]).all() for k in a)
    assert not (tmp_path / "b" / "best").exists() and (tmp_path / "a" / "best").is_dir()


def test_holdout_takes_validation_questions_out_of_the_training_data(tiny_model_dir):
    from medzero.train.preflight import preflight
    from medzero.train.validation import split_holdout

    recipe = recipe_from_dict(
        {
            "model": {"name_or_path": str(tiny_model_dir)},
            "data": {"synthetic": 20, "seed": 3},
            "validation": {"holdout": 6, "limit": 4},
            "grpo": {"num_generations": 2, "per_device_train_batch_size": 4},
        }
    )
    pre = preflight(recipe, for_training=False)
    train_ids = {q.id for q in pre.questions}
    val_ids = [q.id for q in pre.validation.records]
    assert len(train_ids) == 14 and len(pre.rows) == 14 and len(val_ids) == 4  # limit applies to the 6
    assert not train_ids & set(val_ids) and pre.validation.benchmark.name == "holdout"
    info = next(f for f in pre.findings if f.check == "validation")
    assert "from the training data (held out, not trained on)" in info.message
    _, held = split_holdout(list(pre.questions) + list(pre.validation.records), recipe.validation, 3)
    assert len(held) == 6  # seeded: the same draw every time for the same seed and data
    a = split_holdout(list(range(20)), recipe.validation, 3)[1]
    assert (
        a
        == split_holdout(list(range(20)), recipe.validation, 3)[1]
        != split_holdout(list(range(20)), recipe.validation, 4)[1]
    )

    with pytest.raises(ConfigError, match="not both"):
        recipe_from_dict(base(benchmark="sample", holdout=5))
    with pytest.raises(ConfigError, match="hold out fewer"):
        split_holdout(list(range(5)), ValidationSection(holdout=5), 0)


def test_image_validation_questions_are_refused_at_check(tmp_path):
    from PIL import Image

    from medzero.train.preflight import validation_findings

    Image.new("RGB", (16, 12), (200, 10, 10)).save(tmp_path / "scan.png")
    row = {**json.loads(mcq_line(0)), "images": ["scan.png"]}
    (tmp_path / "held.jsonl").write_text(json.dumps(row) + "\n")
    loaded, found = validation_findings(recipe_from_dict(base(benchmark="file:held.jsonl")), tmp_path, [])
    assert loaded is None and found[0].severity == "error" and "carry images" in found[0].message


@pytest.mark.parametrize(
    ("script", "validation", "stop"),
    [
        ({1: 1, 2: 4, 3: 4, 4: 4, 5: 4, 6: 4}, {"stop_at": 1.0}, (2, "reached validation.stop_at 1.0")),
        ({1: 2, 2: 3, 3: 1, 4: 3, 5: 4, 6: 4}, {"patience": 2}, (4, "no new best in 2 validations")),
        ({1: 2, 2: 3, 3: 1, 4: 3, 5: 4, 6: 4}, {}, None),  # neither: all 6 steps
        # patience counts only once a validation beats the first: steps 2-3 at the start level go on
        ({1: 2, 2: 2, 3: 2, 4: 3, 5: 3, 6: 3}, {"patience": 1}, (5, "no new best in 1 validations")),
    ],
)
def test_early_stop_on_validation(tiny_model_dir, tmp_path, monkeypatch, script, validation, stop):
    """Scripted validation scores (correct out of 4, per step); the run ends after the step whose
    validation meets ``stop_at`` or completes ``patience`` validations without a new best."""
    from medzero.train import validation_callback
    from medzero.train.runner import train

    held = tmp_path / "held.jsonl"
    write_questions(held, 6)
    real_score = validation_callback.ValidationCallback._score

    def scripted(self, shard, args):
        result = real_score(self, shard, args)
        for i, r in enumerate(result.records):
            r["correct"] = {
                m: i < script[self.trainer.state.global_step] for m in ("strict", "last", "lenient")
            }
        return result

    monkeypatch.setattr(validation_callback.ValidationCallback, "_score", scripted)
    rec = tiny_recipe(tiny_model_dir, held, every=1, **validation)
    rec.grpo["max_steps"] = 6
    info = train(rec, tmp_path / "run", progress=False)
    assert info["status"] == "finished"
    if stop is None:
        assert info["global_step"] == 6 and "early_stop" not in info
    else:
        assert info["global_step"] == stop[0] and info["early_stop"]["step"] == stop[0]
        assert stop[1] in info["early_stop"]["reason"]
    evals = [r["step"] for r in rows(tmp_path / "run" / "metrics.jsonl") if "eval/strict" in r]
    assert evals == list(range(1, info["global_step"] + 1))  # no extra validation after an early stop


def test_stop_at_and_patience_are_range_checked(tmp_path):
    from medzero.train.validation import ValidationSection

    for bad in ({"stop_at": 0}, {"stop_at": 1.5}, {"patience": 0}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            ValidationSection(benchmark="file:x.jsonl", **bad).check()


def test_validation_benchmark_override_replaces_the_recipes_holdout(tmp_path):
    from medzero.train.recipe import load_recipe

    path = tmp_path / "r.yaml"
    path.write_text("model: {name_or_path: tiny}\ndata: {synthetic: 8}\nvalidation: {holdout: 4}\n")
    r = load_recipe(path, ["validation.benchmark=file:v.jsonl"])
    assert r.validation.benchmark == "file:v.jsonl" and r.validation.holdout is None
    assert load_recipe(path, ["validation.holdout=6"]).validation.holdout == 6
    with pytest.raises(ConfigError, match="two validation sources"):
        load_recipe(path, ["validation.benchmark=file:v.jsonl", "validation.holdout=3"])


def test_holdout_fraction_takes_a_share_of_the_training_questions():
    from medzero.data.synthetic import drug_class_questions
    from medzero.train.validation import holdout_count, split_holdout

    assert [holdout_count(h, n) for h, n in ((0.125, 512), (0.125, 64), (0.1, 3), (0.5, 1000), (7, 64))] == [
        64, 8, 1, 200, 7
    ]  # fmt: skip
    qs = drug_class_questions(64, seed=0)
    train, held = split_holdout(qs, ValidationSection(holdout=0.125), seed=0)
    assert len(held) == 8 and len(train) == 56 and not {q.id for q in held} & {q.id for q in train}
    for bad in (0.0, 1.0, 1.5, -2):
        with pytest.raises(ConfigError, match="count >= 1 or a fraction"):
            ValidationSection(holdout=bad).check()

"""`medzero demo --task search`: the formulary hides each class in its entry; the quick run
exercises every stage and writes the demo.json contract."""

from __future__ import annotations

import json
import os
import random
from collections import Counter

import pytest
from typer.testing import CliRunner

from medzero.cli import build_app
from medzero.demo.search import (
    CLASSES,
    LETTERS,
    QUESTION,
    SearchDemoConfig,
    accuracy_stop,
    drug_names,
    formulary,
    fresh_names,
)


def test_formulary_hides_each_class_in_its_entry(tmp_path):
    cfg = SearchDemoConfig(n_train=40, n_heldout=20)
    data = formulary(cfg, 0, tmp_path)
    train = [json.loads(x) for x in data["train"].read_text().splitlines()]
    held = [json.loads(x) for x in data["heldout"].read_text().splitlines()]
    assert len(train) == 40 and len(held) == 20
    train_drugs = {r["id"].split("-", 1)[1] for r in train}
    held_drugs = {r["id"].split("-", 1)[1] for r in held}
    assert not train_drugs & held_drugs  # held-out drugs are never trained on
    for r in train + held:
        assert not any(c in r["question"] for c in CLASSES)  # the question does not give it away
        assert r["options"] == dict(zip(LETTERS, CLASSES, strict=True))
    entries = [json.loads(x) for x in data["docs"].read_text().splitlines()]
    assert {e["id"] for e in entries} == train_drugs | held_drugs
    for e in entries:
        cls = CLASSES[data["classes"][e["id"]]]
        assert e["text"] == f"{e['id'].capitalize()} is a {cls}."
    from medzero.tools.corpus import CorpusIndex

    drug = next(iter(held_drugs))
    assert CorpusIndex(data["index"]).search(drug, 1)[0].id == drug  # searching the name finds it


def test_names_carry_no_rule():
    """Class is drawn independently of the name: no ending predicts it."""
    rng = random.Random(0)
    names = drug_names(2000, rng)
    assert len(set(names)) == 2000
    classes = [rng.randrange(4) for _ in names]
    by_end = Counter((n[-2:], c) for n, c in zip(names, classes, strict=True))
    ends = Counter(n[-2:] for n in names)
    best = sum(max(by_end[(e, c)] for c in range(4)) for e in ends) / len(names)
    assert best < 0.40  # predicting the class from the name's ending: near the 0.25 chance


def test_every_name_is_three_distinct_syllable_pieces(tmp_path):
    # formulary names (seen by the tokenizer's training) and fresh warm-up names are cut alike, so
    # the copy the warm-up practises on fresh names is the copy GRPO needs on formulary names
    from transformers import AutoTokenizer

    from medzero.demo.search import syllables, tiny_model

    data = formulary(SearchDemoConfig(n_train=60, n_heldout=20), 0, tmp_path / "data")
    tok = AutoTokenizer.from_pretrained(tiny_model(data, 0, tmp_path / "cache"))
    fresh = fresh_names(50, random.Random(3), set(data["classes"]))
    for name in [*data["classes"], *fresh]:
        parts = syllables(name)
        assert len(parts) == 3 and len(set(parts)) == 3
        for text in (f'"{name}"', f"{name.capitalize()} is"):
            pieces = [p.lstrip("\u0120") for p in tok.tokenize(text)]
            assert pieces[pieces.index("-") + 1 :][:3] == parts, (text, pieces)


def test_fresh_names_never_name_a_formulary_drug():
    taken = set(drug_names(300, random.Random(0)))
    fresh = fresh_names(500, random.Random(1), taken)
    assert len(set(fresh)) == 500 and not taken & set(fresh)


def test_names_are_the_same_in_every_process():
    # the formulary of a seed (its names, their classes, the split) must not depend on the
    # process's string hashing: a resumed demo rebuilds it and must get the same drugs
    import subprocess
    import sys

    code = (
        "import random; from medzero.demo.search import drug_names; print(drug_names(50, random.Random(0)))"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": str(h)},
        ).stdout
        for h in (1, 2, 3)
    }
    assert len(outs) == 1


def test_drill_names_share_no_syllable():
    from medzero.demo.search import disjoint_names, syllables

    taken = set(drug_names(300, random.Random(0)))
    for seed in range(20):
        names = disjoint_names(8, random.Random(seed), taken)
        assert len(names) == 8 and not taken & set(names)
        pieces = [s for n in names for s in syllables(n)]
        assert len(pieces) == 24 and len(set(pieces)) == 24


def _examples(tiny_model_dir, tmp_path):
    from transformers import AutoTokenizer

    from medzero.demo.search_warmup import WarmupExamples
    from medzero.tools.search import SearchTool, SearchToolConfig

    data = formulary(SearchDemoConfig(n_train=8, n_heldout=4), 0, tmp_path)
    tool = SearchTool(SearchToolConfig(index=str(data["index"]), k=1))
    return WarmupExamples(AutoTokenizer.from_pretrained(tiny_model_dir), tool.function()), data


def test_warmup_example_copies_the_name_and_never_the_answer(tiny_model_dir, tmp_path):
    ex, _ = _examples(tiny_model_dir, tmp_path)
    tok, rng = ex.tok, random.Random(0)
    letters, classes = Counter(), Counter()
    for _ in range(60):
        ids, labels = ex.example("bazodu", rng)
        assert QUESTION.format(drug="bazodu") in tok.decode(ids)
        trained = tok.decode([t for t, lab in zip(ids, labels, strict=True) if lab != -100])
        if "<tool_call>" in trained:  # the tool listed: the query is the asked name
            assert '"query": "bazodu"' in trained and "<|tool|>" not in trained  # the result is masked
            classes.update(c for c in CLASSES if f"says {c}<" in trained)
        else:
            assert "the drug is bazodu" in trained
        letters.update(trained.rsplit("<answer>", 1)[1][:1])
    assert set(letters) == set(LETTERS) and set(classes) == set(CLASSES)  # drawn, not a rule


def test_copy_drill_trains_only_the_repeated_names(tiny_model_dir, tmp_path):
    ex, _ = _examples(tiny_model_dir, tmp_path)
    names = ["rx-bazodu", "rx-kimefa", "rx-lotupi"]
    ids, labels = ex.drill(names)
    prompt = ex.tok.decode([t for t, lab in zip(ids, labels, strict=True) if lab == -100])
    trained = ex.tok.decode([t for t, lab in zip(ids, labels, strict=True) if lab != -100])
    listed = '"rx-bazodu" "rx-kimefa" "rx-lotupi"'
    assert listed in prompt and trained.strip() == listed + ex.tok.eos_token
    assert not any(c in prompt + trained for c in CLASSES) and "<tool_call>" not in trained


def test_warmup_batches_mix_drills_and_format_examples(tiny_model_dir, tmp_path, monkeypatch):
    from medzero.demo import search_warmup as search

    data = formulary(SearchDemoConfig(n_train=8, n_heldout=4), 0, tmp_path / "data")
    seen = Counter()
    for name in ("example", "drill"):
        made = getattr(search.WarmupExamples, name)

        def counted(self, *a, _made=made, _name=name):
            seen[_name] += 1
            return _made(self, *a)

        monkeypatch.setattr(search.WarmupExamples, name, counted)
    search.warm_up(tiny_model_dir, data, tmp_path / "w", 2, 0, drill_share=0.25)
    assert seen == {"example": 24, "drill": 8}  # 2 steps of 12 + 4


def test_copy_share_scores_the_whole_call(tiny_model_dir, tmp_path):
    import torch

    ex, _ = _examples(tiny_model_dir, tmp_path)

    class Copier:  # predicts every next token: writes any call exactly
        training, device = False, "cpu"

        def eval(self):
            return self

        def train(self, mode=True):
            return self

        def __call__(self, input_ids, attention_mask):
            logits = torch.nn.functional.one_hot(torch.roll(input_ids, -1, dims=1), len(ex.tok)).float()
            return type("Out", (), {"logits": logits})()

    assert ex.copy_share(Copier(), ["bazodu", "kimefa"]) == 1.0
    assert ex.restate_share(Copier(), ["bazodu", "kimefa"]) == 1.0


@pytest.mark.parametrize(("copied", "restated", "steps"), [(0.95, 0.95, 3), (0.5, 0.95, 7), (0.95, 0.5, 7)])
def test_warmup_stops_once_copy_and_restatement_are_learned(
    tiny_model_dir, tmp_path, monkeypatch, copied, restated, steps
):
    from medzero.demo import search_warmup as search
    from medzero.train.warmup import WARMUP_LOG

    data = formulary(SearchDemoConfig(n_train=8, n_heldout=4), 0, tmp_path / "data")
    monkeypatch.setattr(search.WarmupExamples, "copy_share", lambda self, model, drugs: copied)
    monkeypatch.setattr(search.WarmupExamples, "restate_share", lambda self, model, drugs: restated)
    out = search.warm_up(tiny_model_dir, data, tmp_path / "w", 3, 0, max_steps=7, check_every=2)
    log = json.loads((out / WARMUP_LOG).read_text())
    assert log["steps"] == steps  # 3: both goals met at the first check; else it runs to the cap
    assert [c["step"] for c in log["checks"]] == [3, 5, 7][: (steps - 1) // 2]
    assert log["checks"][0]["restated"] == restated


def test_accuracy_stop_waits_for_a_whole_window():
    stop = accuracy_stop(0.9, 3)
    state = type("State", (), {"global_step": 0})()
    flags = []
    for step, acc in enumerate([1.0, 1.0, 0.5, 1.0, 1.0, 1.0], start=1):
        control = type("Control", (), {"should_training_stop": False})()
        state.global_step = step
        stop.on_log(None, state, control, logs={"rewards/accuracy/mean": acc})
        flags.append(control.should_training_stop)
    assert flags == [False, False, False, False, False, True] and stop.stopped_at == 6


@pytest.mark.slow
def test_quick_search_demo_writes_the_contract(tmp_path, tiny_model_dir):
    out = tmp_path / "demo-search"
    argv = [
        "demo",
        "--task",
        "search",
        "--quick",
        "--out",
        str(out),
        "--cache-dir",
        str(tiny_model_dir.parent),
    ]
    result = CliRunner().invoke(build_app(), argv)
    assert result.exit_code == 0, result.output
    res = json.loads((out / "demo.json").read_text())
    assert set(res["heldout"]) == {"without_tool", "with_tool"}
    assert all(0.0 <= v <= 1.0 for v in res["heldout"].values())
    seed = res["seeds"]["0"]
    assert seed["grpo"]["n"] == 32 and "low" in seed["grpo"]["difference"]
    rows = [json.loads(x) for x in (out / "seed0" / "train" / "completions.jsonl").read_text().splitlines()]
    assert rows and all("tool_calls" in r for r in rows)
    # a finished seed is reused, not rerun
    again = CliRunner().invoke(build_app(), argv)
    assert again.exit_code == 0 and json.loads((out / "demo.json").read_text())["seeds"] == res["seeds"]


def test_grpo_budget_holds_a_whole_tool_using_completion(tiny_model_dir, tmp_path):
    # TRL counts the tool turn in max_completion_length and cuts the answer after it: with the
    # old budget (64) every answer that used the tool was truncated and never scored right
    from transformers import AutoTokenizer

    from medzero.demo.search import grpo_recipe, tiny_model
    from medzero.demo.search_warmup import WarmupExamples
    from medzero.tools.search import SearchTool, SearchToolConfig

    data = formulary(SearchDemoConfig(n_train=40, n_heldout=8), 0, tmp_path / "data")
    built = tiny_model(data, 0, tmp_path / "cache")  # the demo's
    tool = SearchTool(SearchToolConfig(index=str(data["index"]), k=1))
    ex = WarmupExamples(AutoTokenizer.from_pretrained(built), tool.function())
    budget = grpo_recipe(tiny_model_dir, data, 10, 0)["grpo"]["max_completion_length"]
    longest = max(
        len(call) + len(rest)
        for drug in fresh_names(20, random.Random(0), set())
        for cls in CLASSES
        for _, call, rest, _ in [ex.with_tool(drug, cls, "D")]
    )
    assert 64 < longest <= budget

"""`medzero demo --task search`: the formulary hides each class in its entry; the quick run
exercises every stage and writes the demo.json contract."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest
from typer.testing import CliRunner

from medzero.cli import build_app
from medzero.demo.search import CLASSES, LETTERS, SearchDemoConfig, drug_names, formulary


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

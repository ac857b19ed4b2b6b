"""Training mixes: determinism (byte-identical outputs), held-out split, de-duplication,
over-asking, custom YAML mixes and the manifest contract."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from medzero.data.loaders import load_mcqs, sample_questions
from medzero.data.mixes import MixEntry, load_mix, recipe_mix
from medzero.data.prepare import build_mix, load_prepared, prepare, prepare_from_mcqs, read_manifest
from medzero.data.rows import ROW_COLUMNS
from medzero.errors import ConfigError

LETTERS = "ABCD"


def fake_medqa(path: Path, n: int, dup_every: int = 0) -> Path:
    lines = []
    for i in range(n):
        twin = dup_every and i % dup_every == 1
        stem = f"Case {i - 1 if twin else i}: which drug is best?"
        if twin:
            stem = "  " + stem.upper() + " "  # same normalised text as the record before it
        options = {k: f"drug {k}{i - 1 if twin else i}" for k in LETTERS}
        ans = LETTERS[i % 4]
        lines.append({"question": stem, "answer": options[ans], "options": options, "answer_idx": ans})
    path.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    return path


def fake_medxpertqa(path: Path, n: int) -> Path:
    lines = []
    for i in range(n):
        options = {k: f"choice {k}{i}" for k in "ABCDEFGHIJ"}
        block = " ".join(f"({k}) {v}" for k, v in options.items())
        lines.append(
            {
                "id": f"Text-{i}",
                "question": f"Hard case {i}?\nAnswer Choices: {block}",
                "options": options,
                "label": "C",
            }
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    return path


@pytest.fixture
def inputs(tmp_path):
    return fake_medqa(tmp_path / "US_train.jsonl", 40, dup_every=10), fake_medxpertqa(
        tmp_path / "xpert.jsonl", 50
    )


def digest_tree(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def small_dataset2(inputs, **kw):
    medqa, xpert = inputs
    return recipe_mix("dataset2", medqa_train=medqa, medxpertqa=xpert, n_medqa=12, n_medxpertqa=8, **kw)


def test_same_inputs_and_seed_give_byte_identical_outputs(inputs, tmp_path):
    entries = small_dataset2(inputs)
    prepare(entries, tmp_path / "a", recipe="dataset2", seed=42)
    prepare(entries, tmp_path / "b", recipe="dataset2", seed=42)
    a, b = digest_tree(tmp_path / "a"), digest_tree(tmp_path / "b")
    assert {"train.jsonl", "heldout.jsonl", "manifest.json", "dataset/state.json"} <= set(a)
    assert a == b
    manifest = read_manifest(tmp_path / "a")
    assert manifest["outputs"] == {k: v for k, v in a.items() if k != "manifest.json"}
    prepare(entries, tmp_path / "a", recipe="dataset2", seed=42)  # re-running into the same folder
    assert digest_tree(tmp_path / "a") == a
    prepare(entries, tmp_path / "c", recipe="dataset2", seed=7)
    assert read_manifest(tmp_path / "c")["train_ids"] != manifest["train_ids"]


def test_manifest_contract_and_heldout_split(inputs, tmp_path):
    manifest = prepare(small_dataset2(inputs), tmp_path / "out", recipe="dataset2", seed=42)
    medqa, xpert = inputs
    assert manifest["recipe"] == "dataset2" and manifest["seed"] == 42
    assert manifest["counts"] == {"medqa": 12, "medxpertqa": 8}
    assert set(manifest["inputs"]) == {str(medqa), str(xpert)}
    assert manifest["inputs"][str(xpert)] == hashlib.sha256(xpert.read_bytes()).hexdigest()
    assert manifest["medzero_version"]
    train_x = set(manifest["train_ids"]["medxpertqa"])
    held_x = set(manifest["heldout_ids"]["medxpertqa"])
    assert len(held_x) == 40 and not train_x & held_x  # pool = 20% of 50 = 10, 8 of them trained
    assert train_x | held_x <= {f"Text-{i}" for i in range(50)}
    report = {s["source"]: s for s in manifest["sources"]}
    assert (report["medxpertqa"]["pool"], report["medxpertqa"]["heldout"]) == (10, 40)
    held = load_mcqs(tmp_path / "out" / "heldout.jsonl")
    assert held.format == "medzero" and {m.id for m in held.records} == held_x


def test_duplicates_are_removed_before_sampling(inputs):
    medqa, _ = inputs
    mix = build_mix([MixEntry("medqa", str(medqa), count=36)], seed=1)
    dropped = mix.dropped_duplicates["medqa"]
    assert len(dropped) == 4 and mix.sources[0]["pool"] == 36
    assert not set(dropped) & {m.id for m in mix.train}
    # every dropped id names the kept question it duplicates
    ids = [m.id for m in load_mcqs(medqa).records]
    assert dropped == {ids[i]: ids[i - 1] for i in (1, 11, 21, 31)}
    with pytest.raises(ConfigError, match="asked for 37 medqa questions but the pool holds only 36"):
        build_mix([MixEntry("medqa", str(medqa), count=37)], seed=1)


def test_sources_draw_independently(inputs):
    medqa, xpert = inputs
    one = build_mix(recipe_mix("dataset2", medqa_train=medqa, medxpertqa=xpert, n_medqa=5, n_medxpertqa=6), 3)
    two = build_mix(recipe_mix("dataset2", medqa_train=medqa, medxpertqa=xpert, n_medqa=9, n_medxpertqa=6), 3)
    xp = [{m.id for m in mix.train if m.source == "medxpertqa"} for mix in (one, two)]
    assert xp[0] == xp[1]
    assert [m.id for m in one.heldout] == [m.id for m in two.heldout]


def test_recipe_errors(inputs):
    medqa, _ = inputs
    with pytest.raises(ConfigError, match="--medxpertqa PATH"):
        recipe_mix("dataset3", medqa_train=medqa)
    with pytest.raises(ConfigError, match='Did you mean "dataset1"'):
        recipe_mix("dataset11", medqa_train=medqa)
    with pytest.raises(ConfigError, match="holds \\['medqa'\\] questions"):
        build_mix([MixEntry("medxpertqa", str(medqa), count=1)], seed=0)
    with pytest.raises(ConfigError, match="pool_frac"):
        MixEntry("medxpertqa", "x", count=1, pool_frac=1.5)


def test_custom_mix_yaml(inputs, tmp_path):
    medqa, xpert = inputs
    yaml_path = tmp_path / "mix.yaml"
    yaml_path.write_text(
        f"- {{source: medqa, path: {medqa.name}, count: 3}}\n"
        f"- {{source: medxpertqa, path: {xpert}, count: 2, pool_frac: 0.5, format: medxpertqa}}\n"
    )
    entries = load_mix(yaml_path)
    assert entries[0].path == str(tmp_path / medqa.name) and entries[1].pool_frac == 0.5
    mix = build_mix(entries, seed=0)
    assert len(mix.train) == 5 and len(mix.heldout) == 25
    yaml_path.write_text("- {source: medqa, path: x.jsonl, count: 3, weight: 2}\n")
    with pytest.raises(ConfigError, match=r"mix.yaml: entry 0: unknown key\(s\) \['weight'\]"):
        load_mix(yaml_path)
    yaml_path.write_text("- {source: medqa, count: 3}\n")
    with pytest.raises(ConfigError, match="missing key"):
        load_mix(yaml_path)


def test_prepare_from_mcqs_and_load_prepared(tmp_path):
    qs = sample_questions()
    manifest = prepare_from_mcqs(qs[:10], qs[10:15], tmp_path / "demo", recipe="sample", seed=0)
    assert manifest["train_ids"] == {"sample": [q.id for q in qs[:10]]}
    assert manifest["heldout_ids"] == {"sample": [q.id for q in qs[10:15]]}
    ds = load_prepared(tmp_path / "demo")
    assert len(ds) == 10 and set(ROW_COLUMNS) <= set(ds.column_names)
    assert ds[0]["prompt"][0]["role"] == "system" and ds[0]["answer"] == qs[0].answer
    assert len(load_prepared(tmp_path / "demo" / "train.jsonl")) == 10
    assert load_mcqs(tmp_path / "demo").records == qs[:10]  # the folder loads as format "prepared"
    with pytest.raises(ConfigError, match="appears twice"):
        prepare_from_mcqs(qs[:2], qs[1:3], tmp_path / "dup", recipe="x", seed=0)


def test_real_dataset2_with_medqa_test_as_stand_in(shared_data, tmp_path):
    """The real MedXpertQA file (2450): 490 in the pool, 1960 held out; MedQA test stands in for train."""
    entries = recipe_mix(
        "dataset2",
        medqa_train=shared_data / "medqa/US_test_5options.jsonl",
        medxpertqa=shared_data / "medxpertqa/text_test.jsonl",
    )
    mix = build_mix(entries, seed=42)
    train_x = {m.id for m in mix.train if m.source == "medxpertqa"}
    held = {m.id for m in mix.heldout}
    assert (len(mix.train), len(train_x), len(held)) == (1090, 490, 1960)
    assert not train_x & held and len(train_x | held) == 2450


def test_same_stem_with_other_options_is_not_a_duplicate(tmp_path):
    rows = [
        {"question": "All of the following cause anemia EXCEPT:", "options": o, "answer_idx": "A"}
        for o in ({"A": "x", "B": "y", "C": "z", "D": "w"}, {"A": "p", "B": "q", "C": "r", "D": "s"})
    ]
    for r in rows:
        r["answer"] = r["options"]["A"]
    path = tmp_path / "except.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    mix = build_mix([MixEntry("medqa", str(path), count=2)], seed=0)
    assert len(mix.train) == 2 and mix.dropped_duplicates["medqa"] == {}


def test_exclude_ids_from_a_manifest_also_excludes_dropped_twins(inputs, tmp_path):
    from medzero.evaluate.exclusions import load_exclusions

    medqa, _ = inputs
    manifest = prepare([MixEntry("medqa", str(medqa), count=36)], tmp_path / "out", recipe="custom", seed=1)
    twins = manifest["dropped_duplicate_ids"]["medqa"]
    assert len(twins) == 4
    excl = load_exclusions(tmp_path / "out")
    by_id = {m.id: m for m in load_mcqs(medqa).records}
    for dropped, kept in twins.items():  # all 36 kept questions are trained here
        assert excl.excludes(by_id[kept]) and excl.excludes(by_id[dropped])


def test_stratified_split_keeps_each_question_type_share(tmp_path):
    """The seed's MedXpertQA split was stratified by question_type; --stratify reproduces that."""
    path = fake_medxpertqa(tmp_path / "xpert.jsonl", 50)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for i, row in enumerate(rows):  # 38 Reasoning, 12 Understanding (76% / 24%)
        row["question_type"] = "Understanding" if i % 4 == 0 and i < 48 else "Reasoning"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    counts = {}
    for seed in (0, 1, 2):
        entries = recipe_mix("dataset3", medxpertqa=path, n_medxpertqa=10, stratify="question_type")
        mix = build_mix(entries, seed=seed)
        pool_types = [m.meta["question_type"] for m in mix.train]
        # 20% of 38 = 7.6 and of 12 = 2.4: largest remainder -> 8 + 2 = the plain split's 10
        assert (pool_types.count("Reasoning"), pool_types.count("Understanding")) == (8, 2)
        assert mix.sources[0]["stratify"] == "question_type" and len(mix.heldout) == 40
        counts[seed] = {m.id for m in mix.train}
    assert len({frozenset(v) for v in counts.values()}) == 3  # still a seeded random draw
    plain = build_mix(recipe_mix("dataset3", medxpertqa=path, n_medxpertqa=10), seed=0)
    assert plain.sources[0]["stratify"] is None and len(plain.train) == 10
    # every question needs the field; and stratify needs a split to shape
    rows[3].pop("question_type")
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(ConfigError, match="Text-3: no 'question_type' to stratify by"):
        build_mix(recipe_mix("dataset3", medxpertqa=path, n_medxpertqa=10, stratify="question_type"), seed=0)
    with pytest.raises(ConfigError, match="needs pool_frac"):
        MixEntry("medqa", "x", count=1, stratify="question_type")


def test_real_medxpertqa_stratified_pool(shared_data):
    entries = recipe_mix(
        "dataset3", medxpertqa=shared_data / "medxpertqa/text_test.jsonl", stratify="question_type"
    )
    mix = build_mix(entries, seed=42)
    types = [m.meta["question_type"] for m in mix.train]
    # the file: 1861 Reasoning, 589 Understanding; 20% of each, 490 in all
    assert (len(types), types.count("Reasoning"), types.count("Understanding")) == (490, 372, 118)

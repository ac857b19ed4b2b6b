"""Loaders: every format on crafted files (good and malformed records), auto-detection, and the
real benchmark files when ../shared/data is present."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medzero.data.detect import classify_record, detect_format
from medzero.data.loaders import FORMATS, load_mcqs, sample_questions
from medzero.errors import ConfigError, DataError


def write_jsonl(path: Path, records: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def write_json(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj, indent=2), encoding="utf-8")
    return path


def medqa_rec(**kw):
    rec = {
        "question": "Which vitamin deficiency causes scurvy?",
        "answer": "Vitamin C",
        "options": {"A": "Vitamin A", "B": "Vitamin C", "C": "Vitamin D", "D": "Vitamin K"},
        "meta_info": "step1",
        "answer_idx": "B",
    }
    rec.update(kw)
    return rec


def mmlu_rec(**kw):
    rec = {
        "question_id": 7,
        "question": "Which organelle makes ATP?",
        "options": ["Nucleus", "Mitochondrion", "Golgi body"],
        "answer": "B",
        "answer_index": 1,
        "category": "biology",
        "src": "x",
    }
    rec.update(kw)
    return rec


def xpert_rec(**kw):
    rec = {
        "id": "Text-1",
        "question": "Best first test?\nAnswer Choices: (A) ECG (B) MRI (C) Biopsy",
        "options": {"A": "ECG", "B": "MRI", "C": "Biopsy"},
        "label": "A",
        "medical_task": "Diagnosis",
        "body_system": "Cardiovascular",
        "question_type": "Reasoning",
    }
    rec.update(kw)
    return rec


def medmcqa_rec(**kw):
    rec = {
        "id": "u1",
        "question": "Largest organ?",
        "opa": "Skin",
        "opb": "Liver",
        "opc": "Lung",
        "opd": "Brain",
    }
    rec.update({"cop": 1, "subject_name": "Anatomy", **kw})
    return rec


# --- the bundled sample --------------------------------------------------------------------------


def test_sample_questions_are_valid_balanced_and_self_contained():
    qs = sample_questions()
    assert len(qs) >= 60
    assert [q.id for q in qs] == [f"sample-{i:03d}" for i in range(1, len(qs) + 1)]
    assert {q.source for q in qs} == {"sample"}
    assert all(len(q.options) in (4, 5) for q in qs)
    assert len({q.meta["subject"] for q in qs}) >= 10
    counts = {letter: sum(q.answer == letter for q in qs) for letter in "ABCD"}
    assert max(counts.values()) - min(counts.values()) <= 3, counts


# --- each format: good records -------------------------------------------------------------------


def test_medqa_ids_meta_and_split_from_filename(tmp_path):
    res = load_mcqs(write_jsonl(tmp_path / "US_train.jsonl", [medqa_rec(), medqa_rec(question="Q2?")]))
    assert res.format == "medqa" and not res.errors
    first = res.records[0]
    assert (first.id, first.answer, first.meta) == ("medqa-train-0", "B", {"split": "train", "step": "step1"})
    assert res.records[1].id == "medqa-train-1"


def test_medmcqa_cop_base_is_explicit(tmp_path):
    path = write_jsonl(tmp_path / "dev.jsonl", [medmcqa_rec(cop=1), medmcqa_rec(id="u2", cop=3)])
    with pytest.raises(ConfigError, match="cop_base=1 or cop_base=0"):
        load_mcqs(path)
    assert [m.answer for m in load_mcqs(path, cop_base=1).records] == ["A", "C"]
    assert [m.answer for m in load_mcqs(path, cop_base=0).records] == ["B", "D"]
    assert load_mcqs(path, cop_base=1).records[0].meta == {"subject": "Anatomy", "split": "dev"}


def test_medmcqa_xpert_form_parses_choices(tmp_path):
    rec = {
        "id": "u1",
        "question": "Stem (with brackets)?\nAnswer Choices: (A) x (B) y (1) (C) z (D) w",
        "label": ["C"],
    }
    res = load_mcqs(write_jsonl(tmp_path / "m.jsonl", [rec]))
    assert res.format == "medmcqa_xpert"
    m = res.records[0]
    assert (m.question, m.options, m.answer) == (
        "Stem (with brackets)?",
        {"A": "x", "B": "y (1)", "C": "z", "D": "w"},
        "C",
    )


def test_medxpertqa_both_forms_give_the_same_record(tmp_path):
    hf = load_mcqs(write_jsonl(tmp_path / "hf.jsonl", [xpert_rec()])).records[0]
    listed = [{"letter": k, "content": v} for k, v in xpert_rec()["options"].items()]
    gh = load_mcqs(write_jsonl(tmp_path / "gh.jsonl", [xpert_rec(options=listed, label=["A"])])).records[0]
    assert hf == gh
    assert hf.question == "Best first test?" and hf.meta["body_system"] == "Cardiovascular"


def test_mmlu_pro_letters_and_medical_only_counts_filtered(tmp_path):
    path = write_jsonl(tmp_path / "mmlu.jsonl", [mmlu_rec(), mmlu_rec(question_id=8, category="law")])
    assert len(load_mcqs(path).records) == 2
    res = load_mcqs(path, medical_only=True)
    assert [m.id for m in res.records] == ["7"] and res.filtered == 1 and not res.errors
    assert res.records[0].options == {"A": "Nucleus", "B": "Mitochondrion", "C": "Golgi body"}


def test_mmlu_pro_json_array(tmp_path):
    res = load_mcqs(write_json(tmp_path / "outputs.json", [mmlu_rec(pred="B")]))
    assert res.format == "mmlu_pro" and len(res.records) == 1


def pubmed_files(tmp_path, truth=None):
    pqal = {
        "111": {
            "QUESTION": "Does X help?",
            "CONTEXTS": ["Ctx one.", "Ctx two."],
            "final_decision": "yes",
            "YEAR": "2001",
        },
        "222": {"QUESTION": "Does Y harm?", "CONTEXTS": ["Other."], "final_decision": "maybe"},
    }
    write_json(tmp_path / "ori_pqal.json", pqal)
    write_json(tmp_path / "test_ground_truth.json", truth if truth is not None else {"222": "maybe"})
    return tmp_path / "ori_pqal.json", tmp_path / "test_ground_truth.json"


def test_pubmedqa_question_layout_and_official_flag(tmp_path):
    pqal, truth = pubmed_files(tmp_path)
    res = load_mcqs(pqal)
    assert res.format == "pubmedqa"
    a, b = res.records
    assert a.question.startswith("Ctx one. Ctx two.\n\nUsing the above document") and a.question.endswith(
        "Does X help?"
    )
    assert a.options == {"A": "yes", "B": "no", "C": "maybe"} and (a.answer, b.answer) == ("A", "C")
    assert (a.meta["official_test"], b.meta["official_test"]) == (False, True) and a.meta["pmid"] == "111"
    only = load_mcqs(pqal, official_only=True)
    assert [m.id for m in only.records] == ["222"] and only.filtered == 1
    test = load_mcqs(truth)
    assert test.format == "pubmedqa_test" and [m.id for m in test.records] == ["222"]


def test_huatuo_eval_keys_ids_and_selection(tmp_path):
    rec = {"question": "Q?", "options": {"A": "x", "B": "y"}, "answer": "y", "answer_idx": "B"}
    path = write_json(
        tmp_path / "eval_data.json", {"MedQA_USLME_test": [rec, rec], "GPQA_Medical_test": [rec]}
    )
    res = load_mcqs(path)
    assert res.format == "huatuo_eval"
    assert [m.id for m in res.records] == ["medqa-0", "medqa-1", "gpqa-0"]
    assert res.records[1].meta == {"eval_key": "MedQA_USLME_test", "index": 1}
    assert [m.id for m in load_mcqs(path, keys=["gpqa"]).records] == ["gpqa-0"]
    with pytest.raises(ConfigError, match="unknown eval_data key"):
        load_mcqs(path, keys=["pubmedqa"])


def test_medzero_canonical_and_prepared_rows_roundtrip(tmp_path):
    from medzero.data.rows import mcq_to_row

    qs = sample_questions()[:3]
    canon = load_mcqs(write_jsonl(tmp_path / "c.jsonl", [q.to_dict() for q in qs]))
    rows = load_mcqs(write_jsonl(tmp_path / "r.jsonl", [mcq_to_row(q) for q in qs]))
    assert canon.format == rows.format == "medzero"
    assert canon.records == rows.records == qs


def test_hf_save_to_disk_and_parquet(tmp_path):
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_list([mmlu_rec(), mmlu_rec(question_id=8, category="law")])
    ds.save_to_disk(str(tmp_path / "disk"))
    ds.to_parquet(str(tmp_path / "x.parquet"))
    disk = load_mcqs(tmp_path / "disk", medical_only=True)
    assert disk.format == "hf" and [m.id for m in disk.records] == ["7"] and disk.filtered == 1
    pq = load_mcqs(tmp_path / "x.parquet")
    assert pq.format == "hf" and len(pq.records) == 2
    with pytest.raises(ConfigError, match="not understood"):
        load_mcqs(tmp_path / "disk", cop_base=1)
    datasets.DatasetDict({"train": ds, "test": ds.select([0])}).save_to_disk(str(tmp_path / "dict"))
    with pytest.raises(ConfigError, match="available: train, test"):
        load_mcqs(tmp_path / "dict")
    assert [m.id for m in load_mcqs(tmp_path / "dict", split="test").records] == ["7"]


# --- malformed records: skipped, counted, named ---------------------------------------------------


@pytest.mark.parametrize(
    ("record", "field", "message"),
    [
        (medqa_rec(answer_idx="F"), "answer_idx", "not among the options"),
        (medqa_rec(question=None), "question", "missing field"),
        (medqa_rec(question=5), "question", "expected a string"),
        (medqa_rec(options={"A": "x", "B": " "}, answer_idx="A", answer="x"), "options.B", "empty option"),
        (medqa_rec(answer="Vitamin K"), "answer", "differs from option B"),
        (medqa_rec(options=["x", "y"]), "options", "expected dict"),
    ],
)
def test_medqa_bad_record_names_file_line_field(tmp_path, record, field, message):
    path = write_jsonl(tmp_path / "test.jsonl", [medqa_rec(), record, medqa_rec()])
    res = load_mcqs(path, "medqa")
    assert len(res.records) == 2 and len(res.errors) == 1
    assert str(res.errors[0]).startswith(f'{path}:2: field "{field}"') and message in str(res.errors[0])
    with pytest.raises(DataError, match=f':2: field "{field}"'):
        load_mcqs(path, "medqa", strict=True)


def test_invalid_json_line_is_reported_in_place(tmp_path):
    path = tmp_path / "test.jsonl"
    path.write_text(
        json.dumps(medqa_rec()) + "\n{broken\n" + json.dumps(medqa_rec()) + "\n", encoding="utf-8"
    )
    res = load_mcqs(path, "medqa")
    assert [m.id for m in res.records] == ["medqa-test-0", "medqa-test-2"]
    assert res.errors[0].line == 2 and "invalid JSON" in str(res.errors[0])


def test_duplicate_id_is_an_error(tmp_path):
    q = sample_questions()[0].to_dict()
    res = load_mcqs(write_jsonl(tmp_path / "c.jsonl", [q, q]))
    assert len(res.records) == 1 and res.errors[0].field == "id" and "duplicate id" in str(res.errors[0])


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (medmcqa_rec(cop=5), "cop"),
        (medmcqa_rec(cop="x"), "cop"),
        (medmcqa_rec(opc=""), "opc"),
        (medmcqa_rec(cop=None), "cop"),
    ],
)
def test_medmcqa_bad_records(tmp_path, record, field):
    res = load_mcqs(write_jsonl(tmp_path / "m.jsonl", [record]), "medmcqa", cop_base=1)
    assert not res.records and res.errors[0].field == field and res.errors[0].line == 1


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"id": "u", "question": "No choices here", "label": ["A"]}, "question"),
        ({"id": "u", "question": "S\nAnswer Choices: (A) x (B) y", "label": ["A", "B"]}, "label"),
        ({"id": "u", "question": "S\nAnswer Choices: (A) x (B) y", "label": ["C"]}, "answer"),
    ],
)
def test_medmcqa_xpert_bad_records(tmp_path, record, field):
    res = load_mcqs(write_jsonl(tmp_path / "m.jsonl", [record]), "medmcqa_xpert")
    assert not res.records and res.errors[0].field == field


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (mmlu_rec(answer="D", answer_index=None), "answer"),
        (mmlu_rec(answer_index=2), "answer_index"),
        (mmlu_rec(options="A B C"), "options"),
        (mmlu_rec(options=["x", 3, "z"]), "options[1]"),
    ],
)
def test_mmlu_pro_bad_records(tmp_path, record, field):
    res = load_mcqs(write_jsonl(tmp_path / "m.jsonl", [record]), "mmlu_pro")
    assert not res.records and res.errors[0].field == field


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (xpert_rec(label=None), "label"),
        (xpert_rec(options=[{"letter": "A"}]), "options[0]"),
        (xpert_rec(options={"A": "x", "B": ""}), "options.B"),
        (xpert_rec(label="Z"), "answer"),
    ],
)
def test_medxpertqa_bad_records(tmp_path, record, field):
    res = load_mcqs(write_jsonl(tmp_path / "x.jsonl", [record]), "medxpertqa")
    assert not res.records and res.errors[0].field == field


def test_pubmedqa_bad_records(tmp_path):
    pqal, _ = pubmed_files(tmp_path, truth={"111": "no"})
    res = load_mcqs(pqal)
    assert [m.id for m in res.records] == ["222"]
    assert res.errors[0].field == "111.final_decision" and "ground-truth" in str(res.errors[0])
    write_json(tmp_path / "test_ground_truth.json", {"999": "yes"})
    test = load_mcqs(tmp_path / "test_ground_truth.json")
    assert not test.records and "PMID not found" in str(test.errors[0])
    alone = tmp_path / "alone"
    alone.mkdir()
    write_json(alone / "ori_pqal.json", json.loads(pqal.read_text()))
    with pytest.raises(DataError, match="official_only needs"):
        load_mcqs(alone / "ori_pqal.json", official_only=True)


def test_huatuo_bad_record_names_key(tmp_path):
    bad = {"question": "Q?", "options": {"A": "x", "B": "y"}, "answer": "x", "answer_idx": "C"}
    res = load_mcqs(write_json(tmp_path / "eval.json", {"PubMedQA_test": [bad]}), "huatuo_eval")
    assert res.errors[0].field == "PubMedQA_test.answer_idx" and res.errors[0].line == 0


def test_unknown_option_and_format(tmp_path):
    path = write_jsonl(tmp_path / "t.jsonl", [medqa_rec()])
    with pytest.raises(ConfigError, match='format "medqa" has no option'):
        load_mcqs(path, medical_only=True)
    with pytest.raises(ConfigError, match='Did you mean "medqa"'):
        load_mcqs(path, "medqaa")


# --- detection ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (medqa_rec(), "medqa"),
        (mmlu_rec(), "mmlu_pro"),
        (xpert_rec(), "medxpertqa"),
        (medmcqa_rec(), "medmcqa"),
        ({"id": "u", "question": "S\nAnswer Choices: (A) x", "label": ["A"]}, "medmcqa_xpert"),
        (
            {"id": "x", "source": "s", "question": "q", "options": {"A": "a", "B": "b"}, "answer": "A"},
            "medzero",
        ),
        ({"foo": 1}, None),
    ],
)
def test_classify_record(record, expected):
    assert classify_record(record) == expected


def test_unclassifiable_file_names_file_and_keys(tmp_path):
    path = write_jsonl(tmp_path / "odd.jsonl", [{"foo": 1, "bar": 2}])
    with pytest.raises(DataError, match=r"odd.jsonl: cannot detect the format .*\['bar', 'foo'\]"):
        load_mcqs(path)
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(DataError, match="empty file"):
        detect_format(tmp_path / "empty.jsonl")
    with pytest.raises(DataError, match="no such file"):
        load_mcqs(tmp_path / "missing.jsonl")


def test_every_registered_format_resolves():
    for name in FORMATS:
        assert FORMATS.get(name).name == name


# --- real benchmark files (skipped without ../shared/data) ---------------------------------------


def real(shared_data, rel, *args, **kw):
    res = load_mcqs(shared_data / rel, *args, **kw)
    assert not res.errors, res.errors[:3]
    return res


def triples(records):
    return [(m.question.strip(), {k: v.strip() for k, v in m.options.items()}, m.answer) for m in records]


def test_real_eval_data_keys(shared_data):
    res = real(shared_data, "huatuogpt_o1/eval_data.json")
    assert res.format == "huatuo_eval"
    assert res.sources() == {"medmcqa": 4183, "medqa": 1273, "pubmedqa": 1000, "mmlu_pro": 1535, "gpqa": 390}
    assert len({m.meta["eval_key"] for m in res.records}) == 5


def test_real_medmcqa_both_copies_agree(shared_data):
    xpert = real(shared_data, "medmcqa/validation_medxpertqa_repo_format.jsonl")
    assert xpert.format == "medmcqa_xpert" and len(xpert.records) == 4183
    huatuo = real(shared_data, "huatuogpt_o1/eval_data.json", keys=["medmcqa"])
    assert triples(xpert.records) == triples(huatuo.records)


def test_real_medmcqa_original_form_rebuilt(shared_data, tmp_path):
    """The opa..opd/cop form, rebuilt from the two dev-set copies (1-based cop as on GitHub)."""
    xpert = real(shared_data, "medmcqa/validation_medxpertqa_repo_format.jsonl").records
    rows = [
        {
            "id": m.id,
            "question": m.question,
            **dict(zip(("opa", "opb", "opc", "opd"), m.options.values(), strict=True)),
            "cop": "ABCD".index(m.answer) + 1,
        }
        for m in xpert
    ]
    orig = load_mcqs(write_jsonl(tmp_path / "dev.jsonl", rows), cop_base=1)
    assert orig.format == "medmcqa" and triples(orig.records) == triples(xpert)


def test_real_medqa_test_files(shared_data):
    four = real(shared_data, "medqa/US_test_4options_phrases.jsonl")
    five = real(shared_data, "medqa/US_test_5options.jsonl")
    assert (len(four.records), len(five.records)) == (1273, 1273)
    assert {len(m.options) for m in four.records} == {4} and {len(m.options) for m in five.records} == {5}
    assert {m.meta["step"] for m in five.records} == {"step1", "step2&3"}
    assert [m.answer_text for m in four.records] == [m.answer_text for m in five.records]
    huatuo = real(shared_data, "huatuogpt_o1/eval_data.json", keys=["medqa"])
    assert triples(huatuo.records) == triples(four.records)


def test_real_pubmedqa(shared_data):
    pqal = real(shared_data, "pubmedqa/ori_pqal.json")
    assert len(pqal.records) == 1000 and sum(m.meta["official_test"] for m in pqal.records) == 500
    test = real(shared_data, "pubmedqa/test_ground_truth.json")
    assert test.format == "pubmedqa_test" and len(test.records) == 500
    huatuo = real(shared_data, "huatuogpt_o1/eval_data.json", keys=["pubmedqa"])
    assert sorted(triples(huatuo.records)) == sorted(triples(pqal.records))


def test_real_mmlu_pro(shared_data):
    test = real(shared_data, "mmlu_pro/test_health_biology.jsonl", medical_only=True)
    assert len(test.records) == 1535 and test.filtered == 0
    assert {m.meta["category"] for m in test.records} == {"health", "biology"}
    llama = real(shared_data, "mmlu_pro/model_outputs_Meta-Llama-3_1-8B-Instruct_5shots.health_biology.json")
    gemini = real(shared_data, "mmlu_pro/model_outputs_gemini-1.5-pro-002_5shots.health_biology.json")
    assert (llama.format, len(llama.records), len(gemini.records)) == ("mmlu_pro", 1535, 1533)


def test_real_medxpertqa(shared_data):
    text = real(shared_data, "medxpertqa/text_test.jsonl")
    sampled = real(shared_data, "medxpertqa/sampled_text_input.jsonl")
    assert (len(text.records), len(sampled.records)) == (2450, 244)
    assert all("Answer Choices" not in m.question for m in text.records)
    by_id = {m.id: m for m in text.records}
    assert all(by_id[m.id] == m for m in sampled.records)
    assert {len(m.options) for m in text.records} == {10}


def test_unreadable_file_is_a_data_error(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"question": "caf\xe9"}\n')
    with pytest.raises(DataError, match=r"latin1\.jsonl: cannot read"):
        load_mcqs(path, "medqa")
    with pytest.raises(DataError, match="not a UTF-8 text file"):
        load_mcqs(path)

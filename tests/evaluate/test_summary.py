import csv
import io
import json

import pytest

from medzero.evaluate.summary import summarize, to_csv, to_markdown, write_summary


def rec(bench, qid, correct, sample=0, letter=None, gold="A", **meta):
    letter = letter if letter is not None or not correct else gold
    ex = {"letter": letter, "method": "answer_tag" if letter else None, "start": 0, "end": 0, "reason": None}
    return {
        "benchmark": bench,
        "id": qid,
        "sample": sample,
        "prompt_hash": "h",
        "output": "",
        "extraction": {m: ex for m in ("strict", "last", "lenient")},
        "gold": gold,
        "correct": {m: correct for m in ("strict", "last", "lenient")},
        "prompt_tokens": 5,
        "completion_tokens": 7,
        "finish_reason": "stop",
        "meta": meta,
    }


def _summarize(records, samples=1):
    items = {(r["benchmark"], r["id"], r["sample"], r["prompt_hash"]): r for r in records}
    plan = {}
    for key in items:
        plan.setdefault(key[0], []).append(key)
    return summarize(items, plan, [], samples=samples, n_boot=200)


def test_gpqa_is_scored_on_rows_and_on_distinct_questions():
    # question X repeated 3 times (all correct), question Y once (wrong): rows 3/4, distinct 1/2
    records = [rec("gpqa_med", f"x{i}", True, question_key="X") for i in range(3)]
    records.append(rec("gpqa_med", "y", False, question_key="Y"))
    s = _summarize(records)
    assert s.score("gpqa_med") == 0.75 and s.benchmarks["gpqa_med"].get().n == 4
    distinct = s.benchmarks["gpqa_med"].get("distinct questions")
    assert distinct.n == 2 and distinct.metrics["accuracy"]["strict"].estimate == 0.5


def test_pubmedqa_official_split_and_medxpertqa_breakdowns():
    pub = [rec("pubmedqa", str(i), i < 3, official_test=i % 2 == 0) for i in range(6)]
    s = _summarize(pub)
    assert s.score("pubmedqa") == 0.5
    assert s.score("pubmedqa", subset="official test") == pytest.approx(2 / 3)  # ids 0, 2, 4
    xpert = [
        rec(
            "medxpertqa",
            str(i),
            i == 0,
            medical_task="Diagnosis" if i < 2 else "Treatment",
            body_system="Skeletal",
        )
        for i in range(4)
    ]
    s = _summarize(xpert)
    subsets = [x.subset for x in s.benchmarks["medxpertqa"].subsets]
    assert subsets == ["all", "medical_task=Diagnosis", "medical_task=Treatment", "body_system=Skeletal"]
    assert s.score("medxpertqa", subset="medical_task=Diagnosis") == 0.5


def test_samples_give_pass1_majk_and_passk():
    # q1: 1 of 3 right but the majority is wrong; q2: 2 of 3 right; q3: 0 of 3 right, no answers
    records = [rec("medqa", "q1", c, s, letter="A" if c else "B") for s, c in enumerate([True, False, False])]
    records += [rec("medqa", "q2", c, s, letter="A" if c else "C") for s, c in enumerate([True, True, False])]
    records += [rec("medqa", "q3", False, s, letter=None) for s in range(3)]
    s = _summarize(records, samples=3)
    sub = s.benchmarks["medqa"].get()
    assert sub.metrics["pass@1"]["strict"].estimate == pytest.approx((1 / 3 + 2 / 3 + 0) / 3)
    assert sub.metrics["maj@3"]["strict"].estimate == pytest.approx(1 / 3)
    assert sub.metrics["pass@3"]["strict"].estimate == pytest.approx(2 / 3)
    assert sub.no_answer["strict"] == pytest.approx(3 / 9)
    assert s.headline_metric == "pass@1"


def test_written_files_agree(tmp_path):
    s = _summarize([rec("medqa", str(i), i % 4 != 0) for i in range(8)])
    write_summary(s, tmp_path)
    data = json.loads((tmp_path / "summary.json").read_text())
    iv = data["benchmarks"]["medqa"]["subsets"][0]["metrics"]["accuracy"]["lenient"]
    assert iv["estimate"] == 0.75 and iv["low"] <= 0.75 <= iv["high"] and iv["n"] == 8
    assert data["published"]["rows"]["QwQ-32B"]["gpqa_med"] == 60.77
    rows = list(csv.DictReader(io.StringIO(to_csv(s))))
    assert {(r["mode"], r["estimate"]) for r in rows} == {
        (m, "0.750000") for m in ("strict", "last", "lenient")
    }
    md = to_markdown(s)
    assert "| MedQA-USMLE | all | 8 | accuracy | 75.0 [" in md
    assert "| HuatuoGPT-o1-7B | published, lenient | 63.57 | 71.56 |" in md
    assert "| this run | ours, strict | — | 75.00 (n=8) |" in md


def test_huatuo_rule_takes_the_better_of_first_and_last_lenient_candidates():
    records = [rec("gpqa_med", str(i), i == 0, question_key=str(i)) for i in range(4)]  # last: 1/4
    for i, r in enumerate(records):
        r["lenient_first"] = {"letter": "A" if i < 3 else "B"}  # first: 3/4 (gold is A)
    s = _summarize(records)
    assert s.benchmarks["gpqa_med"].huatuo_rule == 0.75
    assert "| this run | ours, HuatuoGPT-o1 rule (max of first/last lenient) | — | — | — | — | 75.00 |" in (
        to_markdown(s)
    )
    del records[0]["lenient_first"]  # an items file written before the field existed
    assert _summarize(records).benchmarks["gpqa_med"].huatuo_rule is None


def test_a_users_own_file_gets_no_empty_published_table(tmp_path):
    q = tmp_path / "mine.jsonl"
    q.write_text("")
    s = _summarize([rec(f"file:{q}", str(i), i % 2 == 0) for i in range(4)])
    md = to_markdown(s)
    assert "| all | 4 | accuracy | 50.0 [" in md
    assert "Beside the published numbers" not in md and "published, lenient" not in md


def test_context_caps_are_noted_in_summary_md():
    s = _summarize([rec("medqa", str(i), True) for i in range(2)])
    s.run["context"] = {"length": 64, "capped_prompts": 3, "overlong_prompts": 1}
    assert "the model's context (64 tokens) gave 3 prompt(s) fewer new tokens" in to_markdown(s)

import json

import pytest

from medzero.analyze.evalout import analyze_eval, length_bucket_labels
from medzero.analyze.reflection import Lexicon
from medzero.errors import DataError


def _item(bench, i, tokens, ok, output="The answer is A."):
    return {"benchmark": bench, "id": f"{bench}-{i}", "sample": 0, "prompt_hash": "h", "output": output,
            "extraction": {}, "gold": "A", "correct": {"strict": ok, "last": ok, "lenient": True},
            "prompt_tokens": 50, "completion_tokens": tokens, "meta": {}}  # fmt: skip


@pytest.fixture
def eval_out(tmp_path):
    items = [_item("medqa", i, 100, i < 6) for i in range(10)]  # 6/10 correct, bucket 64-127
    items += [_item("pubmedqa", i, 700, i < 1, "Wait, A.") for i in range(4)]  # 1/4, bucket 512-1023
    lines = "".join(json.dumps(x) + "\n" for x in items) + '{"benchmark": "medqa", "id'
    (tmp_path / "items.jsonl").write_text(lines, encoding="utf-8")
    return tmp_path


def test_accuracy_by_benchmark_and_length(eval_out):
    e = analyze_eval(eval_out, Lexicon())
    assert e["overall"]["correct"] == 7 and e["overall"]["n"] == 14 and e["overall"]["completions"] == 14
    assert e["by_benchmark"]["medqa"]["accuracy"] == 0.6 and e["by_benchmark"]["pubmedqa"]["accuracy"] == 0.25
    assert [(b["bucket"], b["n"], b["correct"]) for b in e["by_length"]] == [
        ("64-127", 10, 6),
        ("512-1023", 4, 1),
    ]
    assert e["reflection_rate"] == pytest.approx(4 / 14)
    assert e["reflection_accuracy"]["with"]["accuracy"] == 0.25
    assert any("items.jsonl:15: invalid JSON" in i for i in e["issues"])


def test_other_mode_and_missing_dir(eval_out, tmp_path):
    assert analyze_eval(eval_out, Lexicon(), mode="lenient")["overall"]["accuracy"] == 1.0
    with pytest.raises(DataError, match="medzero eval"):
        analyze_eval(tmp_path / "absent", Lexicon())


def test_bucket_labels():
    assert length_bucket_labels((10, 20)) == ["0-9", "10-19", ">=20"]


def test_the_report_and_summary_md_give_the_same_interval(tmp_path):
    """One reader and one interval method: GPQA Medical's repeated rows merged into questions,
    percentile bootstrap over questions, in the report as in summary.json."""
    from medzero.evaluate.items import read_items
    from medzero.evaluate.summary import summarize

    items = []
    for q in range(6):  # 6 distinct questions, each repeated in 3 rows; 2 of 6 answered right
        for row in range(3):
            it = _item("gpqa_med", q * 3 + row, 100, q < 2)
            it["meta"] = {"question_key": f"k{q}"}
            it["extraction"] = {m: {"letter": "A" if q < 2 else "B"} for m in ("strict", "last", "lenient")}
            items.append(it)
    (tmp_path / "items.jsonl").write_text("".join(json.dumps(x) + "\n" for x in items), encoding="utf-8")
    e = analyze_eval(tmp_path, Lexicon())
    recs = read_items(tmp_path / "items.jsonl")
    plan = {"gpqa_med": list(recs)}
    summary = summarize(recs, plan, [], samples=1)
    distinct = summary.benchmarks["gpqa_med"].get("distinct questions").metrics["accuracy"]["strict"]
    got = e["by_benchmark"]["gpqa_med"]
    assert got["n"] == 6 and got["completions"] == 18
    assert (got["accuracy"], got["lo"], got["hi"]) == (distinct.estimate, distinct.low, distinct.high)

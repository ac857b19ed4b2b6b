"""Contamination checks: exact (normalised) and near-duplicate (n-gram containment) matches."""

from __future__ import annotations

from medzero.data.loaders import load_mcqs
from medzero.data.overlap import OverlapIndex, ngrams, overlap_report
from medzero.data.schema import MCQ

OPTS = {"A": "x", "B": "y"}
TAIL = " Which of the following is the most likely diagnosis?"


def q(i: str, text: str) -> MCQ:
    return MCQ(id=i, source="t", question=text, options=OPTS, answer="A")


TRAIN = [
    q(
        "t1",
        "A 45-year-old woman has fatigue, weight gain, cold intolerance and a goitre for six months." + TAIL,
    ),
    q(
        "t2",
        "A 30-year-old man has a painless penile ulcer with rolled indurated edges after travel abroad."
        + TAIL,
    ),
    q("t3", "Short one?"),
    *[q(f"b{i}", f"Patient number {i} presents with symptom {i} and sign {i}." + TAIL) for i in range(80)],
]


def test_ngrams_normalise_and_short_questions():
    assert ngrams("Short one?", 8) == frozenset([("short", "one")])
    assert ngrams("A b, C d e", 2) == ngrams("a B c. d E!", 2)
    assert ngrams("", 8) == frozenset()


def test_exact_near_and_unrelated():
    index = OverlapIndex(TRAIN, n=8)
    evals = [
        q(
            "e1",
            "  a 45-YEAR-OLD woman has fatigue, weight gain, cold intolerance and a goitre for six months."
            + TAIL,
        ),
        q(
            "e2",
            "A 31-year-old man has a painless penile ulcer with rolled indurated edges after travel abroad."
            + TAIL,
        ),
        q("e3", "A child has a barking cough and stridor that is worse at night in the winter." + TAIL),
        q("e4", "short ONE"),
    ]
    found = {m.eval_id: m for m in index.matches(evals, threshold=0.5)}
    assert found["e1"].kind == "exact" and found["e1"].train_id == "t1"
    assert found["e2"].kind == "near" and found["e2"].train_id == "t2" and 0.5 <= found["e2"].score < 1
    assert "e3" not in found  # shares only the boilerplate tail, used by 80+ training questions
    assert found["e4"].kind == "exact"


def test_threshold_controls_near_matches():
    index = OverlapIndex(TRAIN, n=4)
    half = q(
        "e", "A 30-year-old man has a painless penile ulcer, and his sister has asthma and eczema today."
    )
    _, score = index.best(half.question)
    assert 0 < score < 1
    assert index.matches([half], threshold=score) and not index.matches([half], threshold=score + 0.01)


def test_report_counts():
    report = overlap_report(
        OverlapIndex(TRAIN), "bench", [TRAIN[0], q("x", "Nothing like the others at all here.")]
    )
    assert (report["records"], report["exact"], report["near"], report["contaminated_frac"]) == (2, 1, 0, 0.5)
    assert report["matches"] == [{"eval_id": "t1", "train_id": "t1", "kind": "exact", "score": 1.0}]


def test_real_medqa_four_and_five_option_copies_match(shared_data):
    five = load_mcqs(shared_data / "medqa/US_test_5options.jsonl").records
    four = load_mcqs(shared_data / "medqa/US_test_4options_phrases.jsonl").records
    report = overlap_report(OverlapIndex(five), "medqa4", four)
    assert report["exact"] + report["near"] == 1273
    mmlu = load_mcqs(shared_data / "mmlu_pro/test_health_biology.jsonl").records
    assert overlap_report(OverlapIndex(five), "mmlu", mmlu)["contaminated_frac"] < 0.05

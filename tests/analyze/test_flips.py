import numpy as np
import pytest

from medzero.analyze.flips import default_letters, extract_answers, flip_summary


def test_flip_matrix_from_letters():
    first = np.array(["A", "B", "A", "", "C", "D"], dtype=object)
    final = np.array(["A", "A", "B", "A", "D", ""], dtype=object)
    gold = np.array(["A", "A", "A", "A", "A", "A"], dtype=object)
    f = flip_summary(first, final, gold, np.array([1, 1, 1, 2, 2, 2]))
    # rows first (correct, wrong, none) x columns final (correct, wrong, none)
    assert f["matrix"] == [[1, 1, 0], [1, 1, 1], [1, 0, 0]]
    assert (f["flips"], f["wrong_to_right"], f["right_to_wrong"], f["wrong_to_other_wrong"]) == (3, 1, 1, 1)
    assert f["with_both"] == 4 and f["flip_rate"] == 0.75
    assert f["step_flip_rate"] == [pytest.approx(2 / 3), 1.0]


def test_extraction_reads_first_commitment_and_final_answer():
    texts = [
        "<think>The answer is B. Wait, let me double-check. So the answer is C.</think><answer>C</answer>",
        "<think>Looks like the drug is a statin.</think><answer>D</answer>",
        "no answer at all",
    ]
    first, final, secs = extract_answers(texts, "ABCD")
    assert first.tolist() == ["B", "", ""] and final.tolist() == ["C", "D", ""] and secs >= 0


def test_default_letters_cover_the_highest_gold():
    assert default_letters(np.array(["A", "C"], dtype=object)) == ("A", "B", "C", "D")
    assert default_letters(np.array(["J", "", None], dtype=object))[-1] == "J"


def test_planted_flips_counted_exactly(planted_stats):
    stats, truth, _ = planted_stats
    f = stats["flips"]
    assert f["flips"] == truth["flips"]
    assert f["wrong_to_right"] == truth["wrong_to_right"] and f["right_to_wrong"] == truth["right_to_wrong"]
    assert f["wrong_to_other_wrong"] == truth["wrong_to_other_wrong"]
    assert [row[:2] for row in f["matrix"][:2]] == truth["matrix"]

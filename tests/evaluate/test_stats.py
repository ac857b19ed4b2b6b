import math

import numpy as np
import pytest

from medzero.evaluate.stats import (
    bootstrap_ci,
    majority_vote,
    paired_bootstrap_ci,
    pass_at_k,
)


def test_bootstrap_ci_matches_the_normal_approximation_for_a_proportion():
    # 400 questions, 50% correct: the 95% interval is about 0.5 +- 1.96 * sqrt(0.25 / 400) = +-0.049.
    values = np.array([1.0] * 200 + [0.0] * 200)
    iv = bootstrap_ci(values, n_boot=4000, seed=1)
    assert iv.estimate == 0.5 and iv.n == 400
    assert iv.low == pytest.approx(0.451, abs=0.006)
    assert iv.high == pytest.approx(0.549, abs=0.006)


def test_bootstrap_ci_is_seeded_and_degenerate_cases_are_exact():
    values = np.random.default_rng(0).random(30)  # continuous, so the seed moves the ends
    assert bootstrap_ci(values, seed=3) == bootstrap_ci(values, seed=3)
    assert bootstrap_ci(values, seed=3) != bootstrap_ci(values, seed=4)
    constant = bootstrap_ci([1, 1, 1])
    assert (constant.low, constant.estimate, constant.high) == (1.0, 1.0, 1.0)
    empty = bootstrap_ci([])
    assert empty.n == 0 and math.isnan(empty.estimate)


def test_bootstrap_ci_in_chunks_equals_one_draw(monkeypatch):
    values = np.random.default_rng(0).integers(0, 2, size=50).astype(float)
    whole = bootstrap_ci(values, n_boot=500, seed=7)
    monkeypatch.setattr("medzero.evaluate.stats._CHUNK_CELLS", 50 * 7)  # 7 resamples per chunk
    assert bootstrap_ci(values, n_boot=500, seed=7) == whole


def test_paired_bootstrap_is_tighter_than_independent_intervals():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, size=300).astype(float)
    b = a.copy()
    b[:15] = 1 - b[:15]  # B differs from A on 15 questions only
    paired = paired_bootstrap_ci(a, b)
    assert paired.estimate == pytest.approx(a.mean() - b.mean())
    width_paired = paired.high - paired.low
    ia, ib = bootstrap_ci(a), bootstrap_ci(b)
    assert width_paired < 0.5 * ((ia.high - ia.low) + (ib.high - ib.low)) / 2
    with pytest.raises(ValueError):
        paired_bootstrap_ci([1, 0], [1])


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (1, 1, 1, 1.0),
        (1, 0, 1, 0.0),
        (4, 1, 1, 0.25),  # pass@1 is the fraction correct
        (4, 1, 2, 0.5),  # 1 - C(3,2)/C(4,2) = 1 - 3/6
        (5, 2, 3, 1 - 1 / 10),  # 1 - C(3,3)/C(5,3)
        (4, 0, 4, 0.0),
        (4, 3, 2, 1.0),  # n - c < k: any 2 draws include a correct one
    ],
)
def test_pass_at_k_unbiased_estimator(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected)


def test_pass_at_k_rejects_impossible_counts():
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 4)


def test_majority_vote_ties_go_to_the_first_answer_and_none_is_never_a_guess():
    assert majority_vote(["A", "B", "B", "A"]) == "A"
    assert majority_vote([None, "C", None]) == "C"
    assert majority_vote([None, None]) is None

import numpy as np
import pytest
import scipy.stats as ss

from medzero.analyze import stats as st


@pytest.fixture
def xy():
    rng = np.random.default_rng(1)
    x = rng.normal(size=400)
    return x, 0.4 * x + rng.normal(size=400), rng.integers(0, 12, 400)


@pytest.mark.parametrize("method,ref", [("pearson", ss.pearsonr), ("spearman", ss.spearmanr)])
def test_correlation_matches_scipy(xy, method, ref):
    x, y, _ = xy
    c = st.correlation(x, y, method)
    r, p = ref(x, y)
    assert c.r == pytest.approx(r, abs=1e-12) and c.p == pytest.approx(p, rel=1e-6)
    assert c.lo < c.r < c.hi and c.n == 400


def test_fisher_ci_textbook_value():
    # r = 0.5, n = 103: z = 0.5493, se = 0.1, 95% CI = tanh(0.5493 -+ 0.196) = [0.3393, 0.6323]
    lo, hi = st.fisher_ci(0.5, 103)
    assert (float(lo), float(hi)) == pytest.approx((0.3393, 0.6323), abs=1e-4)


def test_nan_pairs_dropped_and_degenerate_is_nan():
    c = st.correlation([1, 2, np.nan, 4, 5], [2, 4, 1, 8, 10])
    assert c.n == 4 and c.r == pytest.approx(1.0)
    assert np.isnan(st.correlation([1, 1, 1, 1], [1, 2, 3, 4]).r)  # constant variable
    assert np.isnan(st.correlation([1, 2], [1, 2]).r)  # fewer than 3 pairs


def test_per_step_matches_scipy_in_each_group(xy):
    x, y, g = xy
    d = st.per_step_correlation(x, y, g)
    for k in (0, 5, 11):
        i = d["step"].index(k)
        m = g == k
        assert d["pearson"][i] == pytest.approx(ss.pearsonr(x[m], y[m])[0])
        assert d["pearson_p"][i] == pytest.approx(ss.pearsonr(x[m], y[m])[1], rel=1e-6)
        assert d["spearman"][i] == pytest.approx(ss.spearmanr(x[m], y[m])[0])
        assert d["n"][i] == m.sum()


def test_rank_within_equals_rankdata_with_ties(xy):
    x, _, g = xy
    xr = np.round(x, 1)  # many ties
    r = st.rank_within(xr, g)
    for k in range(12):
        assert np.allclose(r[g == k], ss.rankdata(xr[g == k]))


def test_within_group_removes_a_confounder():
    # Group effect d drives both x and y; inside groups they are independent.
    rng = np.random.default_rng(2)
    g = np.repeat(np.arange(300), 8)
    d = rng.normal(size=300)[g] * 3
    x, y = d + rng.normal(size=len(g)), d + rng.normal(size=len(g))
    assert st.correlation(x, y).r > 0.8
    w = st.within_group_correlation(x, y, g)
    assert abs(w["pearson"]["r"]) < 0.06 and w["pearson"]["lo"] < 0 < w["pearson"]["hi"]
    assert w["groups"] == 300 and w["n"] == 2400


def test_zero_variance_groups_ignores_singletons():
    reward = np.array([1, 1, 0, 1, 0, 0, 1.0])
    groups = np.array([0, 0, 1, 1, 2, 2, 3])
    step = np.array([1, 1, 1, 1, 2, 2, 2])
    z = st.zero_variance_groups(reward, groups, step)
    assert z["groups"] == 3 and z["overall"] == pytest.approx(2 / 3)
    assert z["step"] == [1, 2] and z["frac"] == [0.5, 1.0]


def test_wilson_interval_known_value():
    lo, hi = st.proportion_ci(5, 10)
    assert (float(lo), float(hi)) == pytest.approx((0.2366, 0.7634), abs=1e-4)


def test_trend_detects_a_slope():
    s = np.arange(50)
    t = st.trend(s, 0.01 * s)
    assert t["slope_per_100_steps"] == pytest.approx(1.0) and t["spearman"] == pytest.approx(1.0)
    assert np.isnan(st.trend([1, 2], [1, 2])["slope_per_100_steps"])


def test_format_balance_table():
    acc = np.array([1, 0, 1, 0, 0.0])
    fmt = np.array([1, 1, 0, 0, 1.0])
    fb = st.format_balance(acc, fmt, np.array([1, 1, 2, 2, 2]))
    assert fb["all"] == {
        "n": 5,
        "format_ok_correct": 1,
        "format_ok_wrong": 2,
        "format_bad_correct": 1,
        "format_bad_wrong": 1,
    }
    assert fb["accuracy_mean"] == [0.5, pytest.approx(1 / 3)]

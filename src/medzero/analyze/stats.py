"""Statistics for run analysis, vectorised with numpy (100 000 completions in well under a second).

Definitions (also in docs/analysis.md):

* Pearson r and Spearman rho (Pearson r of average ranks). Confidence interval by the Fisher
  z-transform: ``tanh(atanh(r) +- z_{1-a/2} * se)`` with ``se = 1/sqrt(n-3)`` for Pearson and
  ``se = sqrt(1.06/(n-3))`` for Spearman (Fieller, Hartley & Pearson 1957). Two-sided p-values
  from the t distribution with ``n-2`` degrees of freedom (what ``scipy.stats.pearsonr`` and
  ``spearmanr`` use).
* Within-prompt correlation: x and y are demeaned inside each group (the completions for one
  prompt at one step = one GRPO group) and the pooled demeaned values are correlated. This removes
  every between-question difference (difficulty, question length). With G groups of size >= 2 and
  n completions in them, the degrees of freedom are ``n-G-1`` and the Fisher se is
  ``1/sqrt(n-G-2)`` (a partial correlation with G-1 group indicators). The mean of the per-group
  correlations is reported beside it.
* Pairs with a non-finite value are dropped; a correlation with fewer than 3 pairs or a constant
  variable is ``nan`` (reported as ``null``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

SPEARMAN_SE_FACTOR = 1.06  # Fieller et al. variance inflation for Spearman's Fisher z


@dataclass(frozen=True)
class Corr:
    """A correlation with its confidence interval and two-sided p-value."""

    method: str
    r: float
    lo: float
    hi: float
    p: float
    n: int
    conf: float

    def to_dict(self) -> dict:
        return asdict(self)


def _norm_ppf(conf: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + conf / 2))


def fisher_ci(r, n_eff, conf: float = 0.95, se_factor: float = 1.0):
    """Vectorised Fisher-z interval; ``n_eff`` is n for a plain correlation (se uses n_eff-3)."""
    r = np.asarray(r, dtype=np.float64)
    n_eff = np.asarray(n_eff, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.arctanh(np.clip(r, -0.9999999, 0.9999999))
        se = np.sqrt(se_factor / (n_eff - 3))
        se = np.where(n_eff > 3, se, np.nan)
        zc = _norm_ppf(conf)
        return np.tanh(z - zc * se), np.tanh(z + zc * se)


def t_pvalue(r, df):
    """Two-sided p-value of a correlation r with ``df`` degrees of freedom (vectorised)."""
    from scipy.stats import t as tdist

    r = np.asarray(r, dtype=np.float64)
    df = np.asarray(df, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        tt = r * np.sqrt(df / np.maximum(1 - r * r, 1e-300))
        p = 2 * tdist.sf(np.abs(tt), np.maximum(df, 1))
    return np.where((df > 0) & np.isfinite(r), np.minimum(p, 1.0), np.nan)


def _finite(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.isfinite(x) & np.isfinite(y)


def rankdata_avg(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(x, method="average")


def _pearson_raw(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 3:
        return np.nan
    xd, yd = x - x.mean(), y - y.mean()
    den = np.sqrt((xd * xd).sum() * (yd * yd).sum())
    return float((xd * yd).sum() / den) if den > 0 else np.nan


def correlation(x, y, method: str = "pearson", conf: float = 0.95) -> Corr:
    """Pearson or Spearman correlation with Fisher-z CI and t-test p-value (nan pairs dropped)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = _finite(x, y)
    x, y = x[ok], y[ok]
    if method not in ("pearson", "spearman"):
        raise ValueError(f'method must be "pearson" or "spearman", got {method!r}')
    if method == "spearman" and len(x):  # no finite pair left (e.g. every reward missing): r is nan
        x, y = rankdata_avg(x), rankdata_avg(y)
    r = _pearson_raw(x, y)
    n = len(x)
    lo, hi = fisher_ci(r, n, conf, SPEARMAN_SE_FACTOR if method == "spearman" else 1.0)
    return Corr(method, r, float(lo), float(hi), float(t_pvalue(r, n - 2)), n, conf)


def group_sums(values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    return np.bincount(groups, weights=values, minlength=n_groups)


def grouped_pearson(x: np.ndarray, y: np.ndarray, groups: np.ndarray):
    """Per-group Pearson r (nan for < 3 pairs or a constant variable) -> (group ids, r, n)."""
    ok = _finite(x, y)
    x, y, g = x[ok], y[ok], groups[ok]
    ids, gi = np.unique(g, return_inverse=True)
    k = len(ids)
    n = np.bincount(gi, minlength=k).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx, my = group_sums(x, gi, k) / n, group_sums(y, gi, k) / n
        xd, yd = x - mx[gi], y - my[gi]
        sxy = group_sums(xd * yd, gi, k)
        sxx, syy = group_sums(xd * xd, gi, k), group_sums(yd * yd, gi, k)
        r = sxy / np.sqrt(sxx * syy)
    r = np.where((n >= 3) & (sxx > 0) & (syy > 0), r, np.nan)
    return ids, r, n.astype(np.int64)


def rank_within(x: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Average ranks (1-based) of x inside each group, vectorised (ties share their mean rank)."""
    n = len(x)
    if n == 0:
        return np.zeros(0)
    order = np.lexsort((x, groups))
    xs, gs = x[order], groups[order]
    new_group = np.r_[True, gs[1:] != gs[:-1]]
    pos = np.arange(n, dtype=np.float64)
    group_start = np.maximum.accumulate(np.where(new_group, pos, 0))
    new_tie = new_group | np.r_[True, xs[1:] != xs[:-1]]
    tie_id = np.cumsum(new_tie) - 1
    tie_mean = np.bincount(tie_id, weights=pos - group_start) / np.bincount(tie_id)
    ranks = np.empty(n)
    ranks[order] = tie_mean[tie_id] + 1
    return ranks


def per_step_correlation(x, y, step, conf: float = 0.95) -> dict[str, list]:
    """Pearson and Spearman of x vs y inside each training step, with CIs and p-values."""
    x, y, step = np.asarray(x, float), np.asarray(y, float), np.asarray(step)
    ok = _finite(x, y)
    x, y, step = x[ok], y[ok], step[ok]
    steps, r, n = grouped_pearson(x, y, step)
    _, rho, _ = grouped_pearson(rank_within(x, step), rank_within(y, step), step)
    lo, hi = fisher_ci(r, n, conf)
    slo, shi = fisher_ci(rho, n, conf, SPEARMAN_SE_FACTOR)
    return {
        "step": steps.tolist(),
        "n": n.tolist(),
        "pearson": r.tolist(),
        "pearson_lo": lo.tolist(),
        "pearson_hi": hi.tolist(),
        "pearson_p": t_pvalue(r, n - 2).tolist(),
        "spearman": rho.tolist(),
        "spearman_lo": slo.tolist(),
        "spearman_hi": shi.tolist(),
        "spearman_p": t_pvalue(rho, n - 2).tolist(),
    }


def within_group_correlation(x, y, groups, conf: float = 0.95) -> dict:
    """Correlation after removing each group's mean (see module docstring), Pearson and on
    within-group ranks (Spearman-like), plus the mean of the per-group Pearson r."""
    x, y, groups = np.asarray(x, float), np.asarray(y, float), np.asarray(groups)
    ok = _finite(x, y)
    x, y, groups = x[ok], y[ok], groups[ok]
    ids, gi = np.unique(groups, return_inverse=True)
    size = np.bincount(gi, minlength=len(ids))
    keep = size[gi] >= 2
    x, y, gi = x[keep], y[keep], gi[keep]
    out: dict = {"n": len(x), "groups": int((size >= 2).sum()), "conf": conf}
    n_groups = out["groups"]
    for method, xs, ys, f in (
        ("pearson", x, y, 1.0),
        ("spearman", rank_within(x, gi), rank_within(y, gi), SPEARMAN_SE_FACTOR),
    ):
        k = len(ids)
        cnt = np.maximum(np.bincount(gi, minlength=k), 1)
        xd = xs - (group_sums(xs, gi, k) / cnt)[gi]
        yd = ys - (group_sums(ys, gi, k) / cnt)[gi]
        den = np.sqrt((xd * xd).sum() * (yd * yd).sum())
        r = float((xd * yd).sum() / den) if den > 0 and len(x) > n_groups + 2 else np.nan
        lo, hi = fisher_ci(r, len(x) - n_groups + 1, conf, f)  # se = sqrt(f/(n-G-2))
        p = float(t_pvalue(r, len(x) - n_groups - 1))
        out[method] = {"r": r, "lo": float(lo), "hi": float(hi), "p": p}
    _, rg, _ = grouped_pearson(x, y, gi)
    valid = rg[np.isfinite(rg)]
    out["mean_group_r"] = float(valid.mean()) if len(valid) else np.nan
    out["groups_with_r"] = len(valid)
    out["frac_groups_positive"] = float((valid > 0).mean()) if len(valid) else np.nan
    return out


def trend(steps, values) -> dict:
    """Least-squares slope of ``values`` over ``steps`` (per 100 steps) with its p-value, and the
    Spearman correlation of value with step (a monotone-trend test)."""
    from scipy.stats import linregress

    s, v = np.asarray(steps, float), np.asarray(values, float)
    ok = _finite(s, v)
    s, v = s[ok], v[ok]
    if len(s) < 3 or np.ptp(s) == 0:
        return {"slope_per_100_steps": np.nan, "p": np.nan, "spearman": np.nan, "n_steps": len(s)}
    lr = linregress(s, v)
    return {
        "slope_per_100_steps": float(lr.slope * 100),
        "p": float(lr.pvalue),
        "spearman": correlation(s, v, "spearman").r,
        "n_steps": len(s),
    }


def step_means(values, step) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """nan-aware mean of ``values`` per step -> (steps, mean, count of finite values)."""
    values, step = np.asarray(values, float), np.asarray(step)
    steps, si = np.unique(step, return_inverse=True)
    ok = np.isfinite(values)
    cnt = np.bincount(si[ok], minlength=len(steps))
    tot = np.bincount(si[ok], weights=values[ok], minlength=len(steps))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)
    return steps, mean, cnt


def zero_variance_groups(reward, groups, step) -> dict:
    """Fraction of GRPO groups whose rewards are all equal (advantage 0: no learning signal),
    by :func:`medzero.rewards.variance.flat_groups` (the definition dynamic sampling uses);
    lone groups (fewer than two real rewards) are left out of the fraction."""
    from medzero.rewards.variance import flat_groups

    reward, groups, step = np.asarray(reward, float), np.asarray(groups), np.asarray(step)
    ok = np.isfinite(reward)
    reward, groups, step = reward[ok], groups[ok], step[ok]
    if not len(reward):
        return {"overall": np.nan, "groups": 0, "step": [], "frac": []}
    ids, gi = np.unique(groups, return_inverse=True)
    zero, real = flat_groups(reward, groups)
    gstep = np.zeros(len(ids), dtype=step.dtype)
    gstep[gi] = step
    multi = real >= 2  # a lone completion has no group variance
    if not multi.any():
        return {"overall": np.nan, "groups": 0, "step": [], "frac": []}
    steps, frac, _ = step_means(zero[multi].astype(float), gstep[multi])
    return {
        "overall": float(zero[multi].mean()),
        "groups": int(multi.sum()),
        "step": steps.tolist(),
        "frac": frac.tolist(),
    }


def proportion_ci(k, n, conf: float = 0.95):
    """Wilson score interval for k successes out of n (vectorised); nan where n == 0."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    z = _norm_ppf(conf)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        den = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / den
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    lo = np.where(k <= 0, 0.0, np.clip(centre - half, 0, 1))  # exact ends, no -1e-17 round-off
    hi = np.where(k >= n, 1.0, np.clip(centre + half, 0, 1))
    return np.where(n > 0, lo, np.nan), np.where(n > 0, hi, np.nan)


def format_balance(acc: np.ndarray, fmt: np.ndarray, step: np.ndarray) -> dict:
    """How accuracy and format rewards relate: the 2x2 table (format ok? x answer correct?) over
    all completions and over the last 10% of steps, and both means per step. A reward counts as
    "ok"/"correct" when it is > 0."""
    ok = np.isfinite(acc) & np.isfinite(fmt)
    acc, fmt, step = acc[ok], fmt[ok], step[ok]
    if not len(acc):
        return {}
    cut = np.quantile(step, 0.9) if len(step) else 0

    def table(sel: np.ndarray) -> dict:
        a, f = acc[sel] > 0, fmt[sel] > 0
        return {
            "n": int(sel.sum()),
            "format_ok_correct": int((a & f).sum()),
            "format_ok_wrong": int((~a & f).sum()),
            "format_bad_correct": int((a & ~f).sum()),
            "format_bad_wrong": int((~a & ~f).sum()),
        }

    steps, acc_m, _ = step_means(acc, step)
    _, fmt_m, _ = step_means(fmt, step)
    return {
        "all": table(np.ones(len(acc), bool)),
        "last_10pct_steps": table(step >= cut),
        "step": steps.tolist(),
        "accuracy_mean": acc_m.tolist(),
        "format_mean": fmt_m.tolist(),
        "accuracy_format_corr": correlation(acc, fmt).to_dict(),
    }

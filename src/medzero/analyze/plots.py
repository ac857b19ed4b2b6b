"""PNG plots of an analysis (matplotlib, Agg backend, imported only when plotting).

Each function takes the statistics dict of :func:`medzero.analyze.pipeline.analyze_run` and a
path, draws one figure with a title, labelled axes and units, and returns False when the run
has no data for it (nothing is written then)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _arr(v) -> np.ndarray:
    return np.array([np.nan if x is None else x for x in v], dtype=float)


def _finish(fig, ax, path: Path, title: str, xlabel: str, ylabel: str) -> bool:
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    _plt().close(fig)
    return True


def _step_series(stats: dict) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Reward-like curves per step: TRL's logged metrics if any, else the completion means."""
    cur = stats.get("curves") or {}
    if "reward" in cur:
        keys = ["reward"] + [k for k in cur if k.startswith("rewards/")]
        return _arr(cur["step"]), {k.removesuffix("/mean"): _arr(cur[k]) for k in keys}
    cc = stats.get("completion_curves") or {}
    if not cc:
        return np.zeros(0), {}
    keys = ["reward"] + [k for k in cc if k.startswith("rewards/")]
    return _arr(cc["step"]), {k: _arr(cc[k]) for k in keys}


def plot_rewards(stats: dict, path: Path) -> bool:
    steps, series = _step_series(stats)
    if not len(steps):
        return False
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, v in series.items():
        ax.plot(steps, v, lw=2.2 if name == "reward" else 1.2, label=name)
    ax.legend(fontsize=8)
    return _finish(fig, ax, path, "Reward and reward components over training", "training step",
                   "mean reward per completion (reward units)")  # fmt: skip


def plot_length(stats: dict, path: Path) -> bool:
    cur, cc = stats.get("curves") or {}, stats.get("completion_curves") or {}
    if "completions/mean_length" in cur:
        steps, length = _arr(cur["step"]), _arr(cur["completions/mean_length"])
        trunc = _arr(cur["completions/clipped_ratio"]) if "completions/clipped_ratio" in cur else None
        unit = "tokens"
    elif cc:
        steps, length, trunc = _arr(cc["step"]), _arr(cc["length"]), _arr(cc["truncated"])
        unit = stats.get("length_unit", "tokens")
    else:
        return False
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(steps, length, color="tab:blue", label="mean length")
    if trunc is not None:
        ax2 = ax.twinx()
        ax2.plot(steps, trunc, color="tab:red", alpha=0.7, label="truncated")
        ax2.set_ylabel("truncated completions (fraction, red)")
        ax2.set_ylim(-0.02, 1.02)
    return _finish(fig, ax, path, "Completion length and truncation over training", "training step",
                   f"mean completion length ({unit}, blue)")  # fmt: skip


def plot_scatter(stats: dict, path: Path) -> bool:
    sc = stats.get("_scatter")
    if not sc or not sc["length"]:
        return False
    x, y = np.asarray(sc["length"], float), np.asarray(sc["reward"], float)
    rng = np.random.default_rng(0)
    jitter = 0.02 * (np.ptp(y) or 1.0) * rng.standard_normal(len(y))  # rewards are often discrete
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.scatter(x, y + jitter, s=4, alpha=0.25, color="tab:gray", label=f"completions (sample of {len(x)})")
    b = stats["reward_length"]["binned"]
    if b["length_mean"]:
        ax.plot(
            b["length_mean"], b["reward_mean"], "o-", color="tab:red", label="mean reward per length decile"
        )
    if len(x) > 2 and np.ptp(x) > 0:
        slope, icpt = np.polyfit(x, y, 1)
        xs = np.linspace(x.min(), x.max(), 50)
        ax.plot(xs, slope * xs + icpt, "--", color="tab:blue", label="least-squares line")
    r = stats["reward_length"]["overall"]["pearson"]
    ax.legend(fontsize=8)
    title = "Reward vs. completion length (Pearson r undefined: a constant variable)"
    if r["r"] is not None and np.isfinite(r["r"]):
        title = f"Reward vs. completion length (Pearson r = {r['r']:.3f} [{r['lo']:.3f}, {r['hi']:.3f}])"
    return _finish(fig, ax, path, title, f"completion length ({stats.get('length_unit', 'tokens')})",
                   "reward (reward units, jittered)")  # fmt: skip


def plot_correlation(stats: dict, path: Path) -> bool:
    ps = (stats.get("reward_length") or {}).get("per_step")
    if not ps or not np.isfinite(_arr(ps["pearson"])).any():
        return False
    s = _arr(ps["step"])
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.fill_between(s, _arr(ps["pearson_lo"]), _arr(ps["pearson_hi"]), alpha=0.2, color="tab:blue")
    ax.plot(s, _arr(ps["pearson"]), color="tab:blue", label="Pearson r per step (95% CI band)")
    ax.plot(s, _arr(ps["spearman"]), color="tab:orange", lw=1, label="Spearman rho per step")
    w = stats["reward_length"]["within_prompt"]["pearson"]["r"]
    if w is not None and np.isfinite(w):
        ax.axhline(w, color="tab:green", ls="--", label=f"within-prompt r (all steps) = {w:.3f}")
    ax.axhline(0, color="black", lw=0.5)
    ax.set_ylim(-1.05, 1.05)
    ax.legend(fontsize=8)
    return _finish(fig, ax, path, "Reward-length correlation over training", "training step",
                   "correlation coefficient (unitless)")  # fmt: skip


def plot_reflection(stats: dict, path: Path) -> bool:
    rf = stats.get("reflection")
    if not rf or not rf["step"]:
        return False
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(_arr(rf["step"]), _arr(rf["step_rate"]), color="tab:purple", label="completions with a phrase")
    on = rf["onset"]
    if on.get("threshold") is not None:
        ax.axhline(on["threshold"], color="tab:gray", ls=":", label=f"rise threshold = {on['threshold']:.3f}")
    if on.get("step") is not None:
        ax.axvline(on["step"], color="tab:red", ls="--", label=f"rise detected at step {on['step']}")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    return _finish(fig, ax, path, "Reflection phrases over training", "training step",
                   "fraction of completions with a reflection phrase")  # fmt: skip


def plot_flips(stats: dict, path: Path) -> bool:
    f = stats.get("flips")
    if not f or not f["completions"]:
        return False
    m = np.asarray(f["matrix"], float)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.8))
    im = ax.imshow(m, cmap="Blues")
    labels = [c.replace("none", "no answer") for c in f["cells"]]
    ax.set_xticks(range(3), labels)
    ax.set_yticks(range(3), labels)
    for i in range(3):
        for j in range(3):
            ax.text(j, i, f"{int(m[i, j])}", ha="center", va="center",
                    color="white" if m[i, j] > m.max() / 2 else "black")  # fmt: skip
    fig.colorbar(im, ax=ax, label="completions (count)")
    ax.grid(False)
    ax.set_title("Answer flips: first commitment vs. final answer", fontsize=11)
    ax.set_xlabel(f"final answer ({f['final_mode']} extraction)")
    ax.set_ylabel("first commitment in the reasoning")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def plot_eval_length(stats: dict, path: Path) -> bool:
    evs = [e for e in stats.get("eval", []) if e.get("by_length")]
    if not evs:
        return False
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    from medzero.analyze.evalout import length_bucket_labels

    order = {lab: i for i, lab in enumerate(length_bucket_labels())}  # one x position per bucket
    used: set[int] = set()
    for k, e in enumerate(evs):
        b = e["by_length"]
        x = np.array([order[r["bucket"]] for r in b]) + 0.08 * (k - (len(evs) - 1) / 2)  # dodge
        used |= {order[r["bucket"]] for r in b}
        acc = _arr([r["accuracy"] for r in b])
        err = np.clip(
            np.vstack([acc - _arr([r["lo"] for r in b]), _arr([r["hi"] for r in b]) - acc]), 0, None
        )
        ax.errorbar(x, acc, yerr=err, marker="o", capsize=3, label=Path(e["path"]).name)
    ticks = sorted(used)
    labels = list(order)
    ax.set_xticks(ticks, [labels[t] for t in ticks], rotation=30, fontsize=8)
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8)
    return _finish(fig, ax, path, "Eval accuracy by output length (95% bootstrap CI over questions)",
                   "completion length bucket (tokens)", "accuracy (fraction correct)")  # fmt: skip


def plot_validation(stats: dict, path: Path) -> bool:
    v = stats.get("validation") or {}
    if not v.get("step"):
        return False
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    steps = _arr(v["step"])
    for key, style in (("eval/strict", "o-"), ("eval/last", "s--"), ("eval/lenient", "^:")):
        if key in v:
            ax.plot(steps, _arr(v[key]), style, ms=4, label=key.removeprefix("eval/") + " extraction")
    best = v.get("best") or {}
    if best.get("step") is not None:
        ax.axvline(best["step"], color="tab:green", ls="--", lw=1,
                   label=f"best (RUN_DIR/best): step {best['step']}")  # fmt: skip
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8)
    from medzero.analyze.report import fmt_n

    n = v.get("eval/n") or [None]
    return _finish(fig, ax, path, f"Validation accuracy during training ({fmt_n(n[-1])} questions)",
                   "training step", "accuracy (fraction correct)")  # fmt: skip


def plot_searches(stats: dict, path: Path) -> bool:
    t = stats.get("tools")
    if not t or not t["per_step"]["step"]:
        return False
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    ps = t["per_step"]
    ax.plot(_arr(ps["step"]), _arr(ps["searches_per_completion"]), color="tab:gray", lw=1, alpha=0.7,
            label="mean per step")  # fmt: skip
    b = t["binned"]
    if b:  # the binned means, drawn at each bin's middle step
        mid = [(r["first_step"] + r["last_step"]) / 2 for r in b]
        ax.plot(mid, [r["searches_per_completion"] for r in b], "o-", color="tab:blue", lw=2,
                label="mean per bin of steps")  # fmt: skip
        ax2 = ax.twinx()
        ax2.plot(mid, [r["searched"] for r in b], "s--", color="tab:red", alpha=0.7, ms=4)
        ax2.set_ylabel("completions that searched (fraction, red)")
        ax2.set_ylim(-0.02, 1.02)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, loc="upper left")
    return _finish(fig, ax, path, "Searches per completion over training", "training step",
                   "search calls per completion (count, blue)")  # fmt: skip


#: file name -> (plotting function, caption); the report shows them in this order.
PLOTS: dict[str, tuple[Callable[[dict, Path], bool], str]] = {
    "rewards.png": (plot_rewards, "Mean total reward and each reward component per training step."),
    "length.png": (plot_length, "Mean completion length and the fraction truncated at the length cap."),
    "validation.png": (
        plot_validation,
        "Validation accuracy (greedy, per extraction mode) at the steps the run validated; the dashed line "
        "marks the step kept in RUN_DIR/best.",
    ),
    "reward_length_scatter.png": (
        plot_scatter,
        "Reward against completion length for a sample of completions.",
    ),
    "correlation.png": (plot_correlation, "Reward-length correlation inside each training step."),
    "reflection.png": (plot_reflection, "Share of completions containing a reflection phrase, per step."),
    "flips.png": (plot_flips, "Completions by the correctness of their first commitment and final answer."),
    "searches.png": (
        plot_searches,
        "Search tool calls per completion over training (per step, and per bin of steps with the share of "
        "completions that searched).",
    ),
    "eval_length.png": (plot_eval_length, "Eval accuracy per output-length bucket."),
}


def draw_all(stats: dict, out_dir: Path) -> dict[str, str]:
    """Draw every plot the statistics allow; returns {file name: caption} of those written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return {name: cap for name, (fn, cap) in PLOTS.items() if fn(stats, out_dir / name)}

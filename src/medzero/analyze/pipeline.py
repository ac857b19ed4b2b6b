"""``analyze_run``: every analysis of one training run (and its eval outputs) into one dict, and
optionally the report (``report.html``, ``report.md``, ``stats.json``, PNG plots)."""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from medzero.analyze import flips as fl
from medzero.analyze import reflection as rf
from medzero.analyze import stats as st
from medzero.analyze.evalout import analyze_eval
from medzero.analyze.runlog import RunLog, load_run
from medzero.errors import ConfigError

#: TRL metric names drawn as training curves when the run logged them.
CURVE_KEYS = (
    "reward", "reward_std", "completions/mean_length", "completions/clipped_ratio",
    "frac_reward_zero_std", "kl", "entropy", "loss", "grad_norm", "learning_rate",
    "curriculum/zero_std_groups", "curriculum/filtered_groups", "curriculum/resampled_groups",
    "answers/strict_accuracy", "answers/top_letter_share",
)  # fmt: skip
SCATTER_POINTS = 4000  # completions drawn in the reward-length scatter (a seeded random subset)


@dataclass
class AnalyzeConfig:
    """Settings of ``medzero analyze`` (defaults are what the docs describe)."""

    conf: float = field(default=0.95, metadata={"help": "Confidence level of every interval (0-1)."})
    accuracy_reward: str = field(
        default=r"acc|correct",
        metadata={"help": "Regex for reward names whose value > 0 means a correct answer; when none "
                  "matches, correctness is the final extracted answer == gold."},
    )  # fmt: skip
    format_reward: str = field(default=r"format", metadata={"help": "Regex for format reward names."})
    final_mode: Literal["strict", "last", "lenient"] = field(
        default="strict", metadata={"help": "Extractor mode for the final answer in flip analysis."}
    )
    think_preopened: bool = field(
        default=False, metadata={"help": "Completions start inside <think> (the prompt opened it)."}
    )
    option_letters: str | None = field(
        default=None,
        metadata={
            "help": "Option letters, e.g. ABCDE. Default: A up to the highest gold letter (at least D)."
        },
    )
    flips: bool = field(
        default=True, metadata={"help": "Run answer-flip analysis (one extraction per completion)."}
    )
    baseline_frac: float = field(
        default=0.2, metadata={"help": "Share of the first steps used as the reflection baseline."}
    )
    min_baseline_steps: int = field(default=5, metadata={"help": "Fewest baseline steps."})
    rise_window: int = field(default=5, metadata={"help": "Steps averaged to confirm a reflection rise."})
    rise_k: float = field(default=3.0, metadata={"help": "Rise threshold in baseline standard deviations."})
    rise_confirm: int = field(
        default=2, metadata={"help": "Consecutive steps that must each exceed the rise threshold."}
    )
    min_rise: float = field(
        default=0.02, metadata={"help": "Smallest rise over the baseline mean that counts (rate units)."}
    )
    n_examples: int = field(default=4, metadata={"help": "Reflection and flip examples shown in the report."})
    example_context: int = field(
        default=300, metadata={"help": "Characters shown around an example's phrase."}
    )

    def __post_init__(self) -> None:
        if not 0 < self.conf < 1:
            raise ConfigError(f"conf must be in (0, 1), got {self.conf}")
        if self.final_mode not in ("strict", "last", "lenient"):
            raise ConfigError(f'final_mode must be "strict", "last" or "lenient", got {self.final_mode!r}')
        if self.rise_window < 1 or self.rise_confirm < 1 or self.min_baseline_steps < 2:
            raise ConfigError("rise_window and rise_confirm must be >= 1 and min_baseline_steps >= 2")
        for name in ("accuracy_reward", "format_reward"):
            try:
                re.compile(getattr(self, name))
            except re.error as exc:
                raise ConfigError(f"{name}: invalid regular expression ({exc})") from None


def _pick(names: list[str], pattern: str) -> str | None:
    return next((n for n in names if re.search(pattern, n, re.I)), None)


def metric_curves(log: RunLog) -> dict:
    """TRL's logged curves: step + each known key and every ``rewards/<name>/mean``."""
    m = log.metrics
    if not m:
        return {}
    keys = [k for k in CURVE_KEYS if k in m] + sorted(k for k in m if re.fullmatch(r"rewards/.+/mean", k))
    return {"step": m["step"].tolist(), **{k: m[k].tolist() for k in keys}}


#: ``eval/*`` keys of validation during training (docs/run-format.md), in display order.
EVAL_KEYS = ("eval/strict", "eval/last", "eval/lenient", "eval/n", "eval/truncated")


def validation_curve(log: RunLog) -> dict:
    """The steps where the run validated and their ``eval/*`` values, plus which step is best:
    ``RUN_DIR/best/best.json`` when present, else the highest strict accuracy (earliest of ties)."""
    m = log.metrics
    if not m or "eval/strict" not in m:
        return {}
    ok = ~np.isnan(m["eval/strict"])
    if not ok.any():
        return {}
    out: dict = {"step": m["step"][ok].tolist()}
    out.update({k: m[k][ok].tolist() for k in EVAL_KEYS if k in m})
    strict = m["eval/strict"][ok]
    i = int(np.argmax(strict))  # first maximum: ties keep the earliest step
    out["best"] = {"step": out["step"][i], "strict": float(strict[i]), "from": "metrics.jsonl"}
    if log.best and isinstance(log.best.get("step"), int):
        out["best"] = {"step": log.best["step"], "strict": log.best.get("score"), "from": "best/best.json"}
    out["final"] = {"step": out["step"][-1], "strict": float(strict[-1])}
    return out


def _completion_curves(c, length: np.ndarray) -> dict:
    steps, reward, n = st.step_means(c.reward, c.step)
    out = {"step": steps.tolist(), "n": n.tolist(), "reward": reward.tolist()}
    out["length"] = st.step_means(length, c.step)[1].tolist()
    out["truncated"] = st.step_means(c.truncated.astype(float), c.step)[1].tolist()
    for name, v in c.components.items():
        out[f"rewards/{name}"] = st.step_means(v, c.step)[1].tolist()
    return out


def _reward_length(reward: np.ndarray, length: np.ndarray, c, conf: float) -> dict:
    per_step = st.per_step_correlation(reward, length, c.step, conf)
    return {
        "overall": {m: st.correlation(reward, length, m, conf).to_dict() for m in ("pearson", "spearman")},
        "within_prompt": st.within_group_correlation(reward, length, c.group, conf),
        "per_step": per_step,
        "trend": {
            "pearson": st.trend(per_step["step"], per_step["pearson"]),
            "spearman": st.trend(per_step["step"], per_step["spearman"]),
        },
    }


def _binned(length: np.ndarray, reward: np.ndarray, bins: int = 10) -> dict:
    """Mean reward in length deciles (equal-count bins): the trend line of the scatter plot."""
    ok = np.isfinite(length) & np.isfinite(reward)
    x, y = length[ok], reward[ok]
    if len(x) < bins:
        return {"length_mean": [], "reward_mean": [], "n": []}
    edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)))
    b = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, max(len(edges) - 2, 0))
    n = np.bincount(b)
    has = n > 0
    return {
        "length_mean": (np.bincount(b, x)[has] / n[has]).tolist(),
        "reward_mean": (np.bincount(b, y)[has] / n[has]).tolist(),
        "n": n[has].tolist(),
    }


def _curve_correlation(m: dict, conf: float) -> dict:
    """Mean reward vs. mean length across logged steps (what the seed's plots show), on levels and
    on step-to-step changes (differences remove the shared trend over time)."""
    if "reward" not in m or "completions/mean_length" not in m:
        return {}
    r, ln = np.asarray(m["reward"], float), np.asarray(m["completions/mean_length"], float)
    return {
        "levels": st.correlation(r, ln, "pearson", conf).to_dict(),
        "levels_spearman": st.correlation(r, ln, "spearman", conf).to_dict(),
        "differences": st.correlation(np.diff(r), np.diff(ln), "pearson", conf).to_dict(),
    }


def analyze_completions(log: RunLog, cfg: AnalyzeConfig, lexicon: rf.Lexicon, timings: dict) -> dict:
    """All completion-level analyses (reward-length, reflection, flips, balance)."""
    c = log.completions
    out: dict = {}
    t0 = time.perf_counter()
    length = c.tokens if np.isfinite(c.tokens).any() else np.array([len(t) for t in c.text], float)
    out["length_unit"] = "tokens" if np.isfinite(c.tokens).any() else "characters"
    out["completion_curves"] = _completion_curves(c, length)
    out["reward_length"] = _reward_length(c.reward, length, c, cfg.conf)
    out["reward_length"]["binned"] = _binned(length, c.reward)
    ok = np.flatnonzero(np.isfinite(length) & np.isfinite(c.reward))
    keep = np.sort(np.random.default_rng(0).choice(ok, min(len(ok), SCATTER_POINTS), replace=False))
    out["_scatter"] = {"length": length[keep].tolist(), "reward": c.reward[keep].tolist()}  # plot only
    out["zero_variance"] = st.zero_variance_groups(c.reward, c.group, c.step)
    names = list(c.components)
    acc_name, fmt_name = _pick(names, cfg.accuracy_reward), _pick(names, cfg.format_reward)
    out["reward_names"] = {"accuracy": acc_name, "format": fmt_name}
    if acc_name and fmt_name:
        out["format_balance"] = st.format_balance(c.components[acc_name], c.components[fmt_name], c.step)
    timings["stats_s"] = time.perf_counter() - t0

    correct = c.components[acc_name] > 0 if acc_name else None
    if cfg.flips:
        letters = tuple(cfg.option_letters) if cfg.option_letters else fl.default_letters(c.gold)
        first, final, secs = fl.extract_answers(c.text, letters, cfg.final_mode, cfg.think_preopened)
        timings["extract_s"] = secs
        out["flips"] = {"letters": "".join(letters), "final_mode": cfg.final_mode}
        out["flips"].update(fl.flip_summary(first, final, c.gold, c.step))
        out["flips"]["examples"] = _flip_examples(c, first, final, cfg, letters)
        if correct is None:
            correct = (final == c.gold) & (final != "")
    out["correct_from"] = (
        f"reward {acc_name!r} > 0" if acc_name else ("final answer == gold" if cfg.flips else None)
    )

    t0 = time.perf_counter()
    sc = rf.scan(c.text, lexicon)
    refl = rf.reflection_summary(
        c.text, c.step, lexicon, sc, baseline_frac=cfg.baseline_frac, min_baseline=cfg.min_baseline_steps,
        window=cfg.rise_window, k=cfg.rise_k, min_rise=cfg.min_rise, confirm=cfg.rise_confirm,
    )  # fmt: skip
    if correct is not None:
        corr_f = (
            np.where(np.isnan(c.components[acc_name]), np.nan, correct) if acc_name else correct.astype(float)
        )
        refl["accuracy"] = rf.accuracy_split(sc.has, corr_f.astype(float), c.group, cfg.conf)
    idx = np.flatnonzero(sc.has)
    pick = idx[np.linspace(0, len(idx) - 1, min(cfg.n_examples, len(idx))).astype(int)] if len(idx) else idx
    refl["examples"] = [
        {
            "step": int(c.step[i]),
            "prompt_id": c.prompt_id[i],
            "line": int(c.line[i]),
            "text": snip,
            "spans": spans,
        }
        for i, snip, spans in rf.examples(c.text, pick, lexicon, cfg.example_context)
    ]
    out["reflection"] = refl
    timings["reflection_s"] = time.perf_counter() - t0
    if c.tool_calls is not None:  # a run with tools: searches over training, quoting, accuracy
        from medzero.analyze.tools import tool_use

        acc = None if correct is None else (c.components[acc_name] if acc_name else correct.astype(float))
        out["tools"] = tool_use(c, acc, cfg.conf)
    return out


def _flip_examples(c, first: np.ndarray, final: np.ndarray, cfg: AnalyzeConfig, letters) -> list[dict]:
    idx = np.flatnonzero((first != "") & (final != "") & (first != final))
    pick = idx[np.linspace(0, len(idx) - 1, min(cfg.n_examples, len(idx))).astype(int)] if len(idx) else idx
    out = []
    for i in pick:
        snippet, spans = fl.flip_example(
            c.text[i], letters, cfg.final_mode, cfg.think_preopened, cfg.example_context
        )
        out.append({"step": int(c.step[i]), "prompt_id": c.prompt_id[i], "line": int(c.line[i]), "first": first[i],
                    "final": final[i], "gold": c.gold[i], "text": snippet, "spans": spans})  # fmt: skip
    return out


def analyze_run(
    run: str | Path | RunLog,
    eval_dirs: list[str | Path] | tuple = (),
    out_dir: str | Path | None = None,
    config: AnalyzeConfig | None = None,
    lexicon: rf.Lexicon | None = None,
    plots: bool = True,
) -> dict:
    """Analyse a run (RUN_DIR, W&B CSV, TensorBoard dir or a loaded :class:`RunLog`) and eval
    outputs; write the report to ``out_dir`` when given. Returns the statistics (``stats.json``)."""
    cfg = config or AnalyzeConfig()
    lexicon = lexicon or rf.Lexicon()
    t_start = time.perf_counter()
    log = run if isinstance(run, RunLog) else load_run(run)
    timings: dict = {"read_s": time.perf_counter() - t_start}
    n_comp = len(log.completions) if log.completions is not None else 0
    stats: dict = {
        "source": {
            "path": log.source,
            "kind": log.kind,
            "metric_steps": len(log.steps),
            "completions": n_comp,
        },
        "analysis_config": asdict(cfg),
        "recipe": log.config,
        "run_info": log.run_info,
        "curves": metric_curves(log),
        "validation": validation_curve(log),
    }
    stats["curve_correlation"] = _curve_correlation(stats["curves"], cfg.conf)
    if n_comp:
        stats.update(analyze_completions(log, cfg, lexicon, timings))
    elif log.kind != "run_dir":
        log.warn("metric curves only: completion-level analyses (correlations per completion, reflection, "
                 "flips) need a medzero RUN_DIR with completions.jsonl")  # fmt: skip
    stats["eval"] = []
    for d in eval_dirs:
        stats["eval"].append(analyze_eval(d, lexicon, cfg.final_mode, cfg.conf))
    stats["issues"] = log.issues + [i for e in stats["eval"] for i in e["issues"]]
    if log.issues_dropped:
        stats["issues"].append(f"... and {log.issues_dropped} more problems of the same kinds")
    timings["analysis_s"] = time.perf_counter() - t_start
    stats["timings"] = timings
    if out_dir is not None:
        from medzero.analyze.report import write_report

        write_report(stats, Path(out_dir), plots=plots)
        timings["total_s"] = time.perf_counter() - t_start
    return stats


def headline(stats: dict, out_dir: str | Path | None = None) -> dict:
    """The few numbers printed on stdout by ``medzero analyze`` (the full set is stats.json)."""
    from medzero.analyze.report import jsonable

    rl, rf, f = stats.get("reward_length") or {}, stats.get("reflection") or {}, stats.get("flips") or {}
    return jsonable({
        "report": str(Path(out_dir) / "report.html") if out_dir is not None else None,
        "source": stats["source"],
        "reward_length_pearson": rl.get("overall", {}).get("pearson", {}).get("r"),
        "reward_length_within_prompt": rl.get("within_prompt", {}).get("pearson", {}).get("r"),
        "reflection_rate": rf.get("rate"),
        "reflection_rise_step": rf.get("onset", {}).get("step"),
        "flips": f.get("flips"),
        "wrong_to_right": f.get("wrong_to_right"),
        "right_to_wrong": f.get("right_to_wrong"),
        "validation_best": (stats.get("validation") or {}).get("best"),
        "eval_accuracy": {e["path"]: e.get("overall", {}).get("accuracy") for e in stats.get("eval", [])},
        "issues": len(stats.get("issues", [])),
    })  # fmt: skip

"""Scores from ``items.jsonl``: per benchmark and subset, each extraction mode, 95% bootstrap CIs.

Units are *questions*: with ``samples > 1`` a question's value is the mean over its samples
(pass@1), whether the majority answer is right (maj@K) or whether any sample is right (pass@K).
Subsets come from the benchmark entry: ``all``; ``official test`` (PubMedQA's 500 of the 1000
PQA-L items); ``distinct questions`` (GPQA Medical's 390 rows merged into 78 questions, each
question's value the mean of its rows); one subset per value of a breakdown field (MedXpertQA
medical task and body system).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medzero.evaluate.benchmarks import Benchmark, get_benchmark
from medzero.evaluate.published import COLUMNS, SCORING, SOURCE, TABLE1
from medzero.evaluate.stats import Interval, bootstrap_ci, majority_vote, pass_at_k
from medzero.jsonl import write_json_atomic

MODES = ("strict", "last", "lenient")


def metric_names(samples: int) -> tuple[str, ...]:
    return ("accuracy",) if samples == 1 else ("pass@1", f"maj@{samples}", f"pass@{samples}")


def question_value(recs: list[dict[str, Any]], mode: str, metric: str) -> float:
    """One question's score from its sample records (``metric`` from :func:`metric_names`)."""
    correct = [bool(r["correct"].get(mode, False)) for r in recs]
    if metric in ("accuracy", "pass@1"):
        return float(np.mean(correct))
    if metric.startswith("maj@"):
        letters = [r["extraction"][mode].get("letter") for r in sorted(recs, key=lambda r: r["sample"])]
        return float(majority_vote(letters) == recs[0]["gold"])
    return pass_at_k(len(correct), sum(correct), len(correct))


@dataclass
class SubsetScore:
    """Scores of one subset of a benchmark."""

    subset: str
    n: int  # questions (after merging duplicates for the distinct subset)
    metrics: dict[str, dict[str, Interval]]  # metric -> mode -> interval
    no_answer: dict[str, float]  # mode -> fraction of completions without an extracted letter
    mean_completion_tokens: float
    truncated: float  # fraction of completions that hit the token cap


@dataclass
class BenchmarkScore:
    name: str
    title: str
    n_questions: int  # planned (after exclusions and --limit)
    n_scored: int  # completions scored
    n_missing: int  # planned completions not scored (backend errors; rerun to retry)
    n_excluded: int
    subsets: list[SubsetScore] = field(default_factory=list)
    #: HuatuoGPT-o1's published rule on all completions: max(accuracy of the first lenient
    #: candidates, accuracy of the last ones); the number comparable with the seed's Table 1.
    huatuo_rule: float | None = None

    def get(self, subset: str = "all") -> SubsetScore:
        return next(s for s in self.subsets if s.subset == subset)


@dataclass
class Summary:
    """The scores of one OUT directory (``summary.json``)."""

    samples: int
    benchmarks: dict[str, BenchmarkScore]
    run: dict[str, Any] = field(default_factory=dict)
    #: ``--tools``: per benchmark searches and accuracy with vs without (medzero.evaluate.tooluse)
    tools: dict[str, Any] | None = None

    @property
    def headline_metric(self) -> str:
        return metric_names(self.samples)[0]

    def score(
        self, benchmark: str, mode: str = "strict", subset: str = "all", metric: str | None = None
    ) -> float:
        """A point estimate, e.g. ``summary.score("medqa", "lenient")``."""
        sub = self.benchmarks[benchmark].get(subset)
        return sub.metrics[metric or self.headline_metric][mode].estimate

    def to_dict(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "benchmarks": {k: asdict(v) for k, v in self.benchmarks.items()},
            "published": {
                "source": SOURCE,
                "scoring": SCORING,
                "columns": list(COLUMNS),
                "rows": {m: dict(zip(COLUMNS, v, strict=True)) for m, v in TABLE1.items()},
            },
            "run": self.run,
            **({"tools": self.tools} if self.tools is not None else {}),
        }


def unit_value(group: list[dict[str, Any]], mode: str, metric: str) -> float:
    """The score of one scoring unit (a question, or merged duplicate rows): the mean over its
    question ids of :func:`question_value`."""
    return float(np.mean([question_value(q, mode, metric) for q in _by_id(group)]))


def accuracy_ci(
    recs: list[dict[str, Any]],
    mode: str,
    dedupe: frozenset[str] | set[str] = frozenset(),
    confidence: float = 0.95,
    n_boot: int = 2000,
) -> Interval:
    """Accuracy of ``recs`` (any benchmarks) with the one interval method of every eval report:
    units are questions (``benchmark, id``; merged by ``question_key`` for the benchmarks named
    in ``dedupe``, e.g. GPQA Medical's repeated rows), each scored by :func:`unit_value`, and the
    95% interval is the percentile bootstrap over units. ``summary.md`` and ``medzero analyze``'s
    report give the same interval for the same records."""
    units: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in recs:
        b = str(r.get("benchmark", "?"))
        key = (r.get("meta") or {}).get("question_key", r["id"]) if b in dedupe else r["id"]
        units[(b, str(key))].append(r)
    vals = [unit_value(g, mode, "accuracy") for g in units.values()]
    return bootstrap_ci(vals, confidence=confidence, n_boot=n_boot)


def _score_subset(label: str, groups: list[list[dict]], samples: int, n_boot: int) -> SubsetScore:
    """``groups``: one list of records per scoring unit (a question, or merged duplicate rows)."""
    recs = [r for g in groups for r in g]
    metrics: dict[str, dict[str, Interval]] = {}
    for metric in metric_names(samples):
        metrics[metric] = {}
        for mode in MODES:
            metrics[metric][mode] = bootstrap_ci([unit_value(g, mode, metric) for g in groups], n_boot=n_boot)
    no_answer = {m: float(np.mean([r["extraction"][m].get("letter") is None for r in recs])) for m in MODES}
    return SubsetScore(
        subset=label,
        n=len(groups),
        metrics=metrics,
        no_answer=no_answer,
        mean_completion_tokens=float(np.mean([r.get("completion_tokens", 0) for r in recs])),
        truncated=float(np.mean([r.get("finish_reason") == "length" for r in recs])),
    )


def _by_id(recs: list[dict]) -> list[list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for r in recs:
        out[str(r["id"])].append(r)
    return list(out.values())


def score_benchmark(
    bench: Benchmark, recs: list[dict[str, Any]], samples: int, n_boot: int = 2000
) -> list[SubsetScore]:
    """Every subset of ``bench`` (see the module docstring) from its scored records."""
    if not recs:
        return []
    questions = _by_id(recs)
    subsets = [_score_subset("all", questions, samples, n_boot)]
    flag = bench.official_flag
    if flag and any(flag in q[0]["meta"] for q in questions):
        official = [q for q in questions if q[0]["meta"].get(flag)]
        if official:
            subsets.append(_score_subset("official test", official, samples, n_boot))
    if bench.dedupe:
        merged: dict[str, list[dict]] = defaultdict(list)
        for q in questions:
            merged[q[0]["meta"].get("question_key", q[0]["id"])].extend(q)
        subsets.append(_score_subset("distinct questions", list(merged.values()), samples, n_boot))
    for fld in bench.breakdowns:
        values: dict[str, list[list[dict]]] = defaultdict(list)
        for q in questions:
            if q[0]["meta"].get(fld) is not None:
                values[str(q[0]["meta"][fld])].append(q)
        for val in sorted(values):
            subsets.append(_score_subset(f"{fld}={val}", values[val], samples, n_boot))
    return subsets


def huatuo_rule_accuracy(recs: list[dict[str, Any]]) -> float | None:
    """max(accuracy of the first lenient candidates, of the last ones), over completions;
    ``None`` when the records predate the ``lenient_first`` field."""
    if not recs or any("lenient_first" not in r for r in recs):
        return None
    first = np.mean([r["lenient_first"].get("letter") == r["gold"] for r in recs])
    last = np.mean([bool(r["correct"]["lenient"]) for r in recs])
    return float(max(first, last))


def summarize(items, plan, loaded, samples: int = 1, n_boot: int = 2000, run=None) -> Summary:
    """Build the summary of the planned keys ``plan`` ({benchmark: [keys]}) from ``items`` ({key: record})."""
    excluded = {lb.benchmark.name: lb.excluded for lb in loaded}
    out: dict[str, BenchmarkScore] = {}
    for name, keys in plan.items():
        bench = get_benchmark(name)
        recs = [items[k] for k in keys if k in items]
        out[name] = BenchmarkScore(
            name=name,
            title=bench.title,
            n_questions=len({k[1] for k in keys}),
            n_scored=len(recs),
            n_missing=len(keys) - len(recs),
            n_excluded=excluded.get(name, 0),
            subsets=score_benchmark(bench, recs, samples, n_boot),
            huatuo_rule=huatuo_rule_accuracy(recs),
        )
    return Summary(samples=samples, benchmarks=out, run=run or {})


def _pct(iv: Interval) -> str:
    if iv.n == 0:
        return "—"
    return f"{100 * iv.estimate:.1f} [{100 * iv.low:.1f}, {100 * iv.high:.1f}]"


def to_markdown(summary: Summary) -> str:
    cfg = summary.run.get("config", {})
    lines = ["# Evaluation summary", ""]
    if cfg:
        lines += [
            f"model `{cfg.get('model')}`"
            + (f" + adapter `{cfg['adapter']}`" if cfg.get("adapter") else "")
            + f", backend `{cfg.get('backend')}`, template `{cfg.get('template')}`"
            + (
                ", system prompt in the user turn"
                if (cfg.get("prompt") or {}).get("system_role") == "user"
                else ""
            )
            + ", "
            f"temperature {cfg.get('temperature')}, samples {summary.samples}, "
            f"max new tokens {cfg.get('max_new_tokens')}",
            "",
        ]
    lines += [
        "Accuracy in %, with 95% percentile-bootstrap confidence intervals over questions.",
        "`strict`: the answer tag only; `last`: the last answer statement; `lenient`: HuatuoGPT-o1-style rules.",
        "",
        "| benchmark | subset | n | metric | strict | last | lenient | no answer (strict) | truncated |",
        "|---|---|---:|---|---|---|---|---:|---:|",
    ]
    for b in summary.benchmarks.values():
        for s in b.subsets:
            for metric, by_mode in s.metrics.items():
                lines.append(
                    f"| {b.title} | {s.subset} | {s.n} | {metric} | "
                    + " | ".join(_pct(by_mode[m]) for m in MODES)
                    + f" | {100 * s.no_answer['strict']:.1f} | {100 * s.truncated:.1f} |"
                )
    notes = [
        f"- {b.title}: {b.n_excluded} questions excluded (--exclude-ids); "
        f"{b.n_missing} completions missing after backend errors"
        for b in summary.benchmarks.values()
        if b.n_excluded or b.n_missing
    ]
    ctx = summary.run.get("context") or {}
    if ctx.get("capped_prompts") or ctx.get("overlong_prompts"):
        notes.append(
            f"- the model's context ({ctx.get('length')} tokens) gave {ctx.get('capped_prompts', 0)} prompt(s) "
            f"fewer new tokens than asked and left {ctx.get('overlong_prompts', 0)} prompt(s) no room at all"
        )
    if notes:
        lines += ["", *notes]
    if summary.tools is not None:
        from medzero.evaluate.tooluse import tools_markdown

        lines += ["", tools_markdown(summary.tools).rstrip("\n")]
    if not any(c in summary.benchmarks for c in COLUMNS):  # a user's own file: nothing to set beside
        return "\n".join(lines) + "\n"
    lines += ["", f"## Beside the published numbers ({SOURCE})", "", f"Published rows: {SCORING}.", ""]
    titles = {c: get_benchmark(c).title for c in COLUMNS}
    lines += ["| model | scoring | " + " | ".join(titles[c] for c in COLUMNS) + " |"]
    lines += ["|---|---|" + "---:|" * len(COLUMNS)]
    for model, vals in TABLE1.items():
        lines.append(f"| {model} | published, lenient | " + " | ".join(f"{v:.2f}" for v in vals) + " |")
    cells = []
    for c in COLUMNS:
        b = summary.benchmarks.get(c)
        cells.append(f"{100 * b.huatuo_rule:.2f}" if b and b.huatuo_rule is not None else "—")
    lines.append(
        "| this run | ours, HuatuoGPT-o1 rule (max of first/last lenient) | " + " | ".join(cells) + " |"
    )
    for mode in ("lenient", "strict"):
        cells = []
        for c in COLUMNS:
            b = summary.benchmarks.get(c)
            cells.append(f"{100 * summary.score(c, mode):.2f} (n={b.get().n})" if b and b.subsets else "—")
        lines.append(f"| this run | ours, {mode} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def to_csv(summary: Summary) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["benchmark", "subset", "n", "metric", "mode", "estimate", "ci_low", "ci_high", "no_answer"])
    for b in summary.benchmarks.values():
        for s in b.subsets:
            for metric, by_mode in s.metrics.items():
                for mode in MODES:
                    iv = by_mode[mode]
                    w.writerow(
                        [
                            b.name,
                            s.subset,
                            s.n,
                            metric,
                            mode,
                            f"{iv.estimate:.6f}",
                            f"{iv.low:.6f}",
                            f"{iv.high:.6f}",
                            f"{s.no_answer[mode]:.6f}",
                        ]
                    )
    return buf.getvalue()


def write_summary(summary: Summary, out: str | Path) -> None:
    """``summary.json``, ``summary.md`` and ``summary.csv`` in ``out``."""
    out = Path(out)
    write_json_atomic(out / "summary.json", summary.to_dict())
    (out / "summary.md").write_text(to_markdown(summary), encoding="utf-8")
    (out / "summary.csv").write_text(to_csv(summary), encoding="utf-8")

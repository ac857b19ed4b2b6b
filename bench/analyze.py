"""Benchmark: ``medzero analyze`` on a synthetic run of ~100 000 completions (target: < 30 s on 2 cores).

Run standalone: ``.venv/bin/python bench/analyze.py [--steps 300] [--prompts 42] [--group 8]``.
Writes a synthetic RUN_DIR (``medzero.analyze.synthetic``, ~1 000 characters per completion) to
a temporary directory, then times, in the same process:

* the whole analysis (read + statistics + answer extraction + lexicon) and the report (plots,
  HTML), with the rate in completions/s and each phase's share;
* the vectorised correlation + lexicon pass beside a naive per-row Python loop doing the same
  work (per-step Pearson by running sums, one ``re.search`` per phrase per completion), on the
  same first ``--compare`` completions; the best of ``--rounds`` rounds counts, and the ratio is
  printed. Wall times on a shared machine vary; the analysis's own CPU time is printed too.

:func:`main` returns the numbers as a dict (for a bench runner).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from medzero.analyze import reflection as rf
from medzero.analyze import stats as st
from medzero.analyze.pipeline import analyze_run
from medzero.analyze.runlog import load_run
from medzero.analyze.synthetic import SyntheticRun, write_synthetic_run


def naive_pass(step: list[int], reward: list[float], length: list[float], texts: list[str], phrases) -> Any:
    """Per-row Python: per-step Pearson from running sums, and each phrase searched in each text."""
    sums: dict[int, list[float]] = {}
    for s, x, y in zip(step, reward, length, strict=True):
        a = sums.setdefault(s, [0.0] * 6)
        a[0] += 1
        a[1] += x
        a[2] += y
        a[3] += x * x
        a[4] += y * y
        a[5] += x * y
    per_step = {}
    for s, (n, sx, sy, sxx, syy, sxy) in sums.items():
        den = math.sqrt((n * sxx - sx * sx) * (n * syy - sy * sy))
        per_step[s] = (n * sxy - sx * sy) / den if den else float("nan")
    rxs = [re.compile(r"\b" + re.escape(p).replace(r"\ ", r"\s+") + (r"\b" if p[-1].isalnum() else ""), re.I)
           for p in phrases]  # fmt: skip
    has = [any(rx.search(t) for rx in rxs) for t in texts]
    return per_step, has


def vector_pass(c, lexicon) -> Any:
    per_step = st.per_step_correlation(c.reward, c.tokens, c.step)
    sc = rf.scan(c.text, lexicon)
    return per_step, sc.has


def _head(c, n: int):
    """The first ``n`` completions (the side-by-side comparison runs on the same subset)."""
    from dataclasses import replace

    arrays = {
        k: getattr(c, k)[:n]
        for k in ("step", "group", "sample", "tokens", "truncated", "reward", "gold", "line")
    }
    return replace(c, prompt_id=c.prompt_id[:n], text=c.text[:n], components={k: v[:n] for k, v in c.components.items()},
                   **arrays)  # fmt: skip


def main(steps: int = 300, prompts: int = 42, group: int = 8, rounds: int = 2, compare: int = 20_000) -> dict:
    spec = SyntheticRun(steps=steps, prompts_per_step=prompts, group_size=group, mean_tokens=400,
                        sd_tokens=80, chars_per_token=2.5, reflection_step=steps // 2)  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        t0 = time.perf_counter()
        truth = write_synthetic_run(run, spec)
        gen_s = time.perf_counter() - t0
        size_mb = (run / "completions.jsonl").stat().st_size / 1e6

        t0, c0 = time.perf_counter(), time.process_time()
        stats = analyze_run(run, plots=False)
        analysis_s, analysis_cpu_s = time.perf_counter() - t0, time.process_time() - c0
        t0 = time.perf_counter()
        analyze_run(run, out_dir=Path(tmp) / "rep")
        with_report_s = time.perf_counter() - t0

        log = load_run(run)
        c = _head(log.completions, compare)
        lex = rf.Lexicon()
        naive_s, vec_s = math.inf, math.inf
        for _ in range(rounds):
            t0 = time.perf_counter()
            ref_steps, ref_has = naive_pass(
                c.step.tolist(), c.reward.tolist(), c.tokens.tolist(), c.text, lex.phrases
            )
            naive_s = min(naive_s, time.perf_counter() - t0)
            t0 = time.perf_counter()
            per_step, has = vector_pass(c, lex)
            vec_s = min(vec_s, time.perf_counter() - t0)
        agree_r = np.allclose([ref_steps[s] for s in per_step["step"]], per_step["pearson"])
        agree_has = float(np.mean(np.asarray(ref_has) == has))

    n = truth["completions"]
    tm = stats["timings"]
    res = {
        "completions": n,
        "steps": steps,
        "jsonl_mb": round(size_mb, 1),
        "generate_s": round(gen_s, 2),
        "analysis_s": round(analysis_s, 2),
        "analysis_cpu_s": round(analysis_cpu_s, 2),  # this process's CPU time: robust to other load
        "analysis_with_report_s": round(with_report_s, 2),
        "completions_per_s": round(n / analysis_s),
        "read_s": round(tm["read_s"], 2),
        "stats_s": round(tm["stats_s"], 2),
        "extract_s": round(tm.get("extract_s", 0.0), 2),
        "extract_us_per_completion": round(1e6 * tm.get("extract_s", 0.0) / n, 1),
        "reflection_s": round(tm["reflection_s"], 2),
        "compared_completions": len(c.text),
        "corr_lexicon_naive_s": round(naive_s, 2),
        "corr_lexicon_vectorised_s": round(vec_s, 2),
        "speedup": round(naive_s / vec_s, 1),
        "per_step_r_agree": bool(agree_r),
        "lexicon_agreement": agree_has,
        "under_30s": analysis_s < 30,
        "load_avg_1min": round(os.getloadavg()[0], 1),
    }
    return res


def _print(res: dict) -> None:
    print(
        f"analyze: {res['completions']} completions, {res['steps']} steps, {res['jsonl_mb']} MB completions.jsonl"
    )
    print(f"  analysis {res['analysis_s']} s wall, {res['analysis_cpu_s']} s CPU ({res['completions_per_s']} completions/s; "
          f"with plots+report {res['analysis_with_report_s']} s) — target < 30 s: "
          f"{'met' if res['under_30s'] else 'MISSED'}; load average {res['load_avg_1min']} on {os.cpu_count()} cores")  # fmt: skip
    print(f"  phases: read {res['read_s']} s, statistics {res['stats_s']} s, answer extraction {res['extract_s']} s "
          f"({res['extract_us_per_completion']} us/completion), lexicon {res['reflection_s']} s")  # fmt: skip
    print(f"  correlation + lexicon pass on {res['compared_completions']} completions: naive per-row loop {res['corr_lexicon_naive_s']} s vs. vectorised "
          f"{res['corr_lexicon_vectorised_s']} s -> {res['speedup']}x (same run; per-step r agree: "
          f"{res['per_step_r_agree']}, has-phrase agreement {res['lexicon_agreement']:.4f})")  # fmt: skip


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--prompts", type=int, default=42, help="prompt groups per step")
    ap.add_argument("--group", type=int, default=8, help="completions per prompt")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--compare", type=int, default=20_000, help="completions in the side-by-side comparison")
    a = ap.parse_args()
    _print(main(a.steps, a.prompts, a.group, a.rounds, a.compare))

"""``medzero eval compare OUT_A OUT_B``: per-benchmark difference A - B with a paired bootstrap CI.

Only questions scored in both runs count (matched on benchmark, question id and sample index;
prompt hashes may differ, e.g. when the two runs used different templates). A question's value
is its mean correctness over the shared samples; the interval resamples questions, keeping the
pairing, so it is much narrower than the difference of two independent intervals.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from medzero.errors import DataError
from medzero.evaluate.stats import Interval, paired_bootstrap_ci
from medzero.evaluate.summary import MODES


@dataclass(frozen=True)
class BenchmarkDiff:
    benchmark: str
    mode: str
    n_shared: int  # questions scored in both runs
    a: float  # accuracy of A on the shared questions
    b: float
    diff: Interval  # A - B with its paired bootstrap interval

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _per_question(items: dict) -> dict[tuple[str, str], dict[int, dict]]:
    out: dict[tuple[str, str], dict[int, dict]] = defaultdict(dict)
    for (bench, qid, sample, _), rec in items.items():
        out[(bench, qid)].setdefault(sample, rec)
    return out


def compare_runs(
    out_a: str | Path, out_b: str | Path, n_boot: int = 2000, seed: int = 0
) -> list[BenchmarkDiff]:
    """Differences per benchmark and extraction mode on the questions both OUT dirs scored."""
    from medzero.evaluate.items import read_items
    from medzero.evaluate.runner import ITEMS

    runs = []
    for out in (out_a, out_b):
        path = Path(out) / ITEMS
        if not path.is_file():
            raise DataError(path, None, None, "not found: pass an OUT directory written by `medzero eval`")
        runs.append(_per_question(read_items(path)))
    qa, qb = runs
    shared: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key in sorted(qa.keys() & qb.keys()):
        if qa[key].keys() & qb[key].keys():
            shared[key[0]].append(key)
    diffs = []
    for bench in sorted(shared):
        keys = shared[bench]
        for mode in MODES:
            va, vb = [], []
            for key in keys:
                samples = sorted(qa[key].keys() & qb[key].keys())
                va.append(np.mean([qa[key][s]["correct"][mode] for s in samples]))
                vb.append(np.mean([qb[key][s]["correct"][mode] for s in samples]))
            iv = paired_bootstrap_ci(va, vb, n_boot=n_boot, seed=seed)
            diffs.append(BenchmarkDiff(bench, mode, len(keys), float(np.mean(va)), float(np.mean(vb)), iv))
    return diffs


def diffs_to_markdown(diffs: list[BenchmarkDiff], name_a: str, name_b: str) -> str:
    lines = [
        f"A = {name_a}, B = {name_b}; accuracy in %, difference with a 95% paired bootstrap CI.",
        "",
        "| benchmark | mode | n shared | A | B | A - B [95% CI] |",
        "|---|---|---:|---:|---:|---|",
    ]
    for d in diffs:
        lines.append(
            f"| {d.benchmark} | {d.mode} | {d.n_shared} | {100 * d.a:.1f} | {100 * d.b:.1f} | "
            f"{100 * d.diff.estimate:+.1f} [{100 * d.diff.low:+.1f}, {100 * d.diff.high:+.1f}] |"
        )
    if not diffs:
        lines.append("| (no shared questions) | | 0 | | | |")
    return "\n".join(lines) + "\n"

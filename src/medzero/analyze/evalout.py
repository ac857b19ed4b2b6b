"""Analysis of ``medzero eval`` outputs (OUT/items.jsonl): accuracy overall, by benchmark, by
output-length bucket and with vs. without reflection phrases.

Items are read with the evaluation's own reader (:func:`medzero.evaluate.items.read_items`) and
accuracies get the evaluation's interval (:func:`medzero.evaluate.summary.accuracy_ci`: questions
as units, GPQA Medical's repeated rows merged, percentile bootstrap), so the report and
``summary.md`` agree on the same folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medzero.analyze.reflection import Lexicon, accuracy_split, scan
from medzero.errors import DataError

#: Upper edges (completion tokens) of the length buckets; the last bucket is open-ended.
LENGTH_EDGES = (64, 128, 256, 512, 1024, 2048, 4096)


def _acc(recs: list[dict], mode: str, dedupe: frozenset[str], conf: float) -> dict:
    from medzero.evaluate.summary import accuracy_ci

    iv = accuracy_ci(recs, mode, dedupe, confidence=conf)
    k = sum(bool(r["correct"].get(mode, False)) for r in recs)
    return {
        "n": iv.n,
        "completions": len(recs),
        "correct": k,
        "accuracy": iv.estimate,
        "lo": iv.low,
        "hi": iv.high,
    }


def _dedupe(benchmarks: set[str]) -> frozenset[str]:
    """The benchmarks whose repeated rows are merged into one question (GPQA Medical)."""
    from medzero.errors import MedzeroError
    from medzero.evaluate.benchmarks import get_benchmark

    out = set()
    for b in benchmarks:
        try:
            if get_benchmark(b).dedupe:
                out.add(b)
        except MedzeroError:  # a name this version does not know: no merging
            continue
    return frozenset(out)


def read_items(out_dir: Path, issues: list[str]) -> list[dict]:
    """Records of OUT/items.jsonl (the evaluation's reader); bad lines are reported in ``issues``."""
    from medzero.evaluate.items import read_items as read_eval_items

    path = out_dir / "items.jsonl" if out_dir.is_dir() else out_dir
    if not path.exists():
        raise DataError(path, None, None, "no such file: expected a `medzero eval` output directory")
    return list(read_eval_items(path, issues).values())


def length_bucket_labels(edges: tuple[int, ...] = LENGTH_EDGES) -> list[str]:
    lows = (0, *edges)
    return [f"{lo}-{hi - 1}" for lo, hi in zip(lows, edges, strict=False)] + [f">={edges[-1]}"]


def analyze_eval(out_dir: str | Path, lexicon: Lexicon, mode: str = "strict", conf: float = 0.95) -> dict:
    """Accuracy (in extraction ``mode``) overall, per benchmark, per length bucket, and with vs.
    without reflection phrases in the output."""
    out_dir = Path(out_dir)
    issues: list[str] = []
    items = read_items(out_dir, issues)
    res: dict = {"path": str(out_dir), "mode": mode, "items": len(items), "issues": issues}
    if not items:
        issues.append(f"{out_dir}: no scored items")
        return res
    missing = sum(mode not in it["correct"] for it in items)
    if missing:
        issues.append(f'{out_dir}: {missing} items have no "{mode}" score; counted as wrong')
    correct = np.array([bool(it["correct"].get(mode, False)) for it in items])
    bench = np.array([str(it.get("benchmark", "?")) for it in items], dtype=object)
    tokens = np.array([float(it.get("completion_tokens") or np.nan) for it in items])
    dedupe = _dedupe(set(bench.tolist()))
    res["overall"] = _acc(items, mode, dedupe, conf)
    res["by_benchmark"] = {
        b: _acc([it for it in items if it.get("benchmark", "?") == b], mode, dedupe, conf)
        for b in sorted(set(bench.tolist()))
    }
    labels = length_bucket_labels()
    bucket = np.where(
        np.isfinite(tokens), np.searchsorted(np.asarray(LENGTH_EDGES), tokens, side="right"), -1
    )
    res["by_length"] = [
        {
            "bucket": labels[b],
            "mean_tokens": float(tokens[bucket == b].mean()),
            **_acc([it for it, k in zip(items, bucket, strict=True) if k == b], mode, dedupe, conf),
        }
        for b in range(len(labels))
        if (bucket == b).any()
    ]
    texts = [str(it.get("output", "")) for it in items]
    sc = scan(texts, lexicon)
    res["reflection_rate"] = float(sc.has.mean())
    groups = np.unique(
        np.array([f"{b}\x00{it.get('id')}" for b, it in zip(bench, items, strict=True)]), return_inverse=True
    )[1]
    res["reflection_accuracy"] = accuracy_split(sc.has, correct.astype(float), groups, conf)
    return res

"""Analysis of ``medzero eval`` outputs (OUT/items.jsonl): accuracy by benchmark, by output-length
bucket and with vs. without reflection phrases, each with Wilson 95% intervals."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medzero.analyze.reflection import Lexicon, accuracy_split, scan
from medzero.analyze.stats import proportion_ci
from medzero.errors import DataError
from medzero.jsonl import iter_jsonl

#: Upper edges (completion tokens) of the length buckets; the last bucket is open-ended.
LENGTH_EDGES = (64, 128, 256, 512, 1024, 2048, 4096)


def _acc(correct: np.ndarray, conf: float) -> dict:
    n, k = len(correct), int(correct.sum())
    lo, hi = proportion_ci(k, n, conf)
    return {"n": n, "correct": k, "accuracy": k / n if n else np.nan, "lo": float(lo), "hi": float(hi)}


def read_items(out_dir: Path, issues: list[str]) -> list[dict]:
    """Records of OUT/items.jsonl with the fields this analysis needs; bad lines are reported."""
    path = out_dir / "items.jsonl" if out_dir.is_dir() else out_dir
    if not path.exists():
        raise DataError(path, None, None, "no such file: expected a `medzero eval` output directory")
    items = []
    errors: list[DataError] = []
    for lineno, obj in iter_jsonl(path, errors, objects_only=True):
        if not isinstance(obj.get("correct"), dict):
            issues.append(f'{path}:{lineno}: field "correct": expected an object of mode -> bool; skipped')
            continue
        items.append(obj)
    issues.extend(f"{err}; skipped" for err in errors)
    return items


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
    res["overall"] = _acc(correct, conf)
    res["by_benchmark"] = {b: _acc(correct[bench == b], conf) for b in sorted(set(bench.tolist()))}
    labels = length_bucket_labels()
    bucket = np.where(
        np.isfinite(tokens), np.searchsorted(np.asarray(LENGTH_EDGES), tokens, side="right"), -1
    )
    res["by_length"] = [
        {
            "bucket": labels[b],
            "mean_tokens": float(tokens[bucket == b].mean()),
            **_acc(correct[bucket == b], conf),
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

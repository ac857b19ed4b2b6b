"""Tool use in a training run (``completions.jsonl`` with ``tool_calls``): how often the policy
searched as training went on, whether its answers quote what it retrieved, and how accuracy
depends on the number of searches.

* **Searches per completion over training**: the mean number of ``search`` calls per completion,
  per step and in ``bins`` equal step ranges (with the share of completions that searched).
* **Quoting**: an answer *quotes* a retrieved passage when the model's text after its last call
  shares a run of ``quote_words`` consecutive words (lower-cased ``\\w+`` runs) with one of the
  passages that call chain returned (the ``[id]`` tags are not words of a passage). Share over the
  completions that searched and got a passage back.
* **Accuracy by number of searches**: correctness (the accuracy reward > 0, as elsewhere in the
  analysis) per search count, with Wilson intervals.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import numpy as np

from medzero.analyze import stats as st

_WORD = re.compile(r"\w+")
_TAG = re.compile(r"^\[[^\]\n]+\] ", re.M)
_CALL_END = "</tool_call>"


def _ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def quotes_passage(answer: str, passages: list[str], n: int = 4) -> bool:
    """Whether ``answer`` shares ``n`` consecutive words with a passage.

    >>> quotes_passage("so it is a beta blocker, B", ["[d1] Kelbidone is a beta blocker."], n=3)
    True
    >>> quotes_passage("B", ["[d1] Kelbidone is a beta blocker."], n=3)
    False
    """
    grams = _ngrams(answer, n)
    return bool(grams) and any(grams & _ngrams(_TAG.sub("", p), n) for p in passages)


def answer_part(completion: str) -> str:
    """The model's text after its last tool call (the whole text when it made none)."""
    cut = completion.rfind(_CALL_END)
    return completion[cut + len(_CALL_END) :] if cut >= 0 else completion


def tool_use(
    c: Any, correct: np.ndarray | None, conf: float = 0.95, bins: int = 10, quote_words: int = 4
) -> dict[str, Any]:
    """The three analyses of the module docstring for :class:`~medzero.analyze.runlog.Completions`
    whose ``tool_calls`` were read; ``correct``: per completion, or None."""
    calls = c.tool_calls
    searches = np.array([sum(1 for x in cs if x.get("name") == "search") for cs in calls], dtype=float)
    steps = np.unique(c.step)
    per_step = {
        "step": steps.tolist(),
        "searches_per_completion": [float(searches[c.step == s].mean()) for s in steps],
    }
    edges = np.unique(np.linspace(steps.min(), steps.max() + 1, min(bins, len(steps)) + 1).astype(int))
    binned = []
    for lo, hi in itertools.pairwise(edges):
        m = (c.step >= lo) & (c.step < hi)
        if m.any():
            binned.append(
                {
                    "steps": f"{lo}-{hi - 1}",
                    "first_step": int(lo),
                    "last_step": int(hi - 1),
                    "n": int(m.sum()),
                    "searches_per_completion": float(searches[m].mean()),
                    "searched": float((searches[m] > 0).mean()),
                }
            )
    with_passages = [
        i for i, cs in enumerate(calls) if any(x.get("ids") and isinstance(x.get("result"), str) for x in cs)
    ]
    quoted = [
        quotes_passage(answer_part(c.text[i]), [x["result"] for x in calls[i] if x.get("ids")], quote_words)
        for i in with_passages
    ]
    out: dict[str, Any] = {
        "completions": len(calls),
        "searches_per_completion": float(searches.mean()) if len(searches) else 0.0,
        "per_step": per_step,
        "binned": binned,
        "quote": {
            "words": quote_words,
            "answers_with_passages": len(with_passages),
            "quoting": int(sum(quoted)),
            "share": float(np.mean(quoted)) if quoted else None,
        },
    }
    if correct is not None:
        rows = []
        for k in np.unique(searches):
            m = searches == k
            ok = correct[m]
            ok = ok[np.isfinite(ok)] if ok.dtype.kind == "f" else ok
            n, hits = len(ok), int(np.sum(ok > 0))
            lo, hi = st.proportion_ci(hits, n, conf)
            acc = hits / n if n else None
            rows.append({"searches": int(k), "n": n, "accuracy": acc, "lo": float(lo), "hi": float(hi)})
        out["accuracy_by_searches"] = rows
    return out

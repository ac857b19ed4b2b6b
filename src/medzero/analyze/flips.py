"""Answer flips: the option a completion first commits to inside its reasoning vs. its final answer.

Both are read with the project's one extractor (:mod:`medzero.extract`): the first commitment
with ``first_commitment`` and the final answer with ``extract(..., mode=final_mode)``. A *flip*
is a completion with both a first commitment and a final answer whose letters differ. Each
completion falls in one cell of a 3x3 matrix: first commitment {correct, wrong, none} x final
answer {correct, wrong, none}; wrong->right and right->wrong are the off-diagonal cells that matter,
and "wrong->other wrong" counts flips between two wrong letters.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from medzero.analyze.stats import step_means

CELLS = ("correct", "wrong", "none")


def default_letters(gold: np.ndarray, minimum: str = "D") -> tuple[str, ...]:
    """Option letters A..L, where L is the highest gold letter seen (at least ``minimum``):
    completions.jsonl carries the gold letter, not the option list."""
    top = max([g for g in gold.tolist() if isinstance(g, str) and len(g) == 1 and g.isupper()] + [minimum])
    return tuple(chr(c) for c in range(ord("A"), ord(top) + 1))


def extract_answers(
    texts: list[str], letters: Sequence[str], final_mode: str = "strict", think_preopened: bool = False
) -> tuple[np.ndarray, np.ndarray, float]:
    """(first-commitment letters, final letters, seconds) — "" where none was found."""
    from medzero.extract import extract, first_commitment

    t0 = time.perf_counter()
    first = np.empty(len(texts), dtype=object)
    final = np.empty(len(texts), dtype=object)
    for i, t in enumerate(texts):
        fin = extract(t, letters, mode=final_mode, think_preopened=think_preopened)
        final[i] = fin.letter or ""
        first[i] = first_commitment(t, letters, think_preopened=think_preopened).letter or ""
    return first, final, time.perf_counter() - t0


def _cell(letter: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """0 correct, 1 wrong, 2 none."""
    return np.where(letter == "", 2, np.where(letter == gold, 0, 1))


def flip_summary(first: np.ndarray, final: np.ndarray, gold: np.ndarray, step: np.ndarray) -> dict:
    """Flip matrix, wrong->right / right->wrong counts and the flip rate per step."""
    cf, cl = _cell(first, gold), _cell(final, gold)
    matrix = np.bincount(cf * 3 + cl, minlength=9).reshape(3, 3)
    both = (first != "") & (final != "")
    flip = both & (first != final)
    steps, rate, n = step_means(np.where(both, flip, np.nan), step)
    return {
        "cells": list(CELLS),
        "matrix": matrix.tolist(),  # rows: first commitment, columns: final answer
        "completions": len(first),
        "with_first_commitment": int((first != "").sum()),
        "with_final_answer": int((final != "").sum()),
        "with_both": int(both.sum()),
        "flips": int(flip.sum()),
        "flip_rate": float(flip.sum() / both.sum()) if both.any() else np.nan,
        "wrong_to_right": int(matrix[1, 0]),
        "right_to_wrong": int(matrix[0, 1]),
        "wrong_to_other_wrong": int((flip & (cf == 1) & (cl == 1)).sum()),
        "step": steps.tolist(),
        "step_flip_rate": rate.tolist(),
        "step_n": n.tolist(),
    }


def flip_example(
    text: str,
    letters: Sequence[str],
    final_mode: str = "strict",
    think_preopened: bool = False,
    context: int = 300,
) -> tuple[str, list[tuple[int, int, str]]]:
    """A flipped completion shown from ``context`` characters before its first commitment to the
    end (the middle elided past 2 000 characters), with both answer spans marked."""
    from medzero.extract import extract, first_commitment

    fc = first_commitment(text, letters, think_preopened=think_preopened)
    fin = extract(text, letters, mode=final_mode, think_preopened=think_preopened)
    lo = max(0, fc.start - context) if fc.start >= 0 else 0
    spans = [(s - lo, e - lo, name) for s, e, name in ((fc.start, fc.end, "first"), (fin.start, fin.end, "final"))
             if s >= lo and e > s]  # fmt: skip
    snippet, shift = text[lo:], 0
    if lo:
        snippet, shift = "…" + snippet, 1
    spans = [(s + shift, e + shift, n) for s, e, n in spans]
    if len(snippet) > 2000 and len(spans) == 2 and spans[1][0] - spans[0][1] > 1200:
        a, b = spans[0][1] + context, spans[1][0] - context  # cut between the two answers
        snippet = snippet[:a] + " […] " + snippet[b:]
        spans = [spans[0], (spans[1][0] - (b - a) + 5, spans[1][1] - (b - a) + 5, "final")]
    return snippet, spans

"""Benchmark: completions per second of each extraction mode beside a naive one-regex baseline.

Run standalone: ``.venv/bin/python bench/extract.py [--rounds N]``. Uses the real MMLU-Pro
outputs and HuatuoGPT-o1 demo traces under ../shared/data (or $MEDZERO_SHARED_DATA) when present,
and always a synthetic R1-style set (``<think>...</think><answer>X</answer>``). Every method
runs on the same inputs in the same process, interleaved over rounds, timed in CPU time of this
(single-threaded) process, so the rates are per core; the best round counts (the least disturbed
by other processes). Prints a Markdown table; :func:`main` returns the
numbers as a dict (for a bench runner).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from medzero.extract import MODES, extract

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MEDZERO_SHARED_DATA", ROOT.parent / "shared" / "data"))
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# The naive baseline: one regex, first match, no think/hedge/letter-set handling.
NAIVE = re.compile(r"<answer>\s*\(?([A-Z])|answer is \(?([A-Z])\)?")

Item = tuple[str, dict[str, str]]


def _mmlu_pro(name: str, field: str) -> list[Item]:
    path = DATA / "mmlu_pro" / name
    if not path.is_file():
        return []
    rows = json.loads(path.read_text(encoding="utf-8"))
    return [(r[field], dict(zip(LETTERS, r["options"], strict=False))) for r in rows]


def _huatuo_demo() -> list[Item]:
    path = DATA / "huatuogpt_o1" / "demo_data.json"
    if not path.is_file():
        return []
    rows = json.loads(path.read_text(encoding="utf-8"))
    return [
        (f"## Thinking\n\n{r['Complex_CoT']}\n\n## Final Response\n\n{r['Response']}", r["options"])
        for r in rows
    ]


def _synthetic_r1(n: int = 2000, seed: int = 0) -> list[Item]:
    """R1-style training completions: reasoning of 40-400 words, then an answer tag in one of
    the forms a policy produces (plain letter, "(B) text", "B. text")."""
    rng = random.Random(seed)
    words = [
        "the",
        "patient",
        "presents",
        "with",
        "anemia",
        "low",
        "reticulocyte",
        "count",
        "suggests",
        "marrow",
        "failure",
        "so",
    ]
    opts = {"A": "Benign carrier", "B": "Folate deficiency", "C": "Iron deficiency", "D": "Parvovirus B19"}
    items = []
    for _ in range(n):
        letter = rng.choice("ABCD")
        think = " ".join(rng.choice(words) for _ in range(rng.randint(40, 400)))
        answer = rng.choice([letter, f"({letter}) {opts[letter]}", f"{letter}. {opts[letter]}"])
        items.append((f"<think>{think}</think>\n<answer>{answer}</answer>", opts))
    return items


def datasets() -> dict[str, list[Item]]:
    """Name -> items; real sets are left out when the data folder is absent."""
    sets = {
        "mmlu_pro_llama": _mmlu_pro(
            "model_outputs_Meta-Llama-3_1-8B-Instruct_5shots.health_biology.json", "generated_text"
        ),
        "mmlu_pro_gemini": _mmlu_pro(
            "model_outputs_gemini-1.5-pro-002_5shots.health_biology.json", "model_outputs"
        ),
        "huatuo_demo": _huatuo_demo(),
        "synthetic_r1": _synthetic_r1(),
    }
    return {k: v for k, v in sets.items() if v}


def _naive(text: str, options: dict[str, str]) -> str | None:
    m = NAIVE.search(text)
    return (m.group(1) or m.group(2)) if m else None


def _methods() -> dict[str, Callable[[str, dict[str, str]], Any]]:
    methods: dict[str, Callable[[str, dict[str, str]], Any]] = {"naive": _naive}
    for mode in MODES:
        methods[mode] = lambda t, o, m=mode: extract(t, o, m)
    return methods


def time_methods(items: list[Item], rounds: int) -> dict[str, float]:
    """Best-of-``rounds`` completions/s per method, methods interleaved within each round."""
    methods = _methods()
    best = dict.fromkeys(methods, float("inf"))
    for _ in range(rounds):
        for name, fn in methods.items():
            t0 = time.process_time()
            for text, opts in items:
                fn(text, opts)
            best[name] = min(best[name], time.process_time() - t0)
    return {name: len(items) / t for name, t in best.items()}


def main(rounds: int = 7) -> dict[str, Any]:
    """Run the benchmark; return ``{dataset: {"n", "<method>_per_s", "strict_vs_naive",
    "lenient_over_strict_time"}}``."""
    results: dict[str, Any] = {}
    for name, items in datasets().items():
        rate = time_methods(items, rounds)
        results[name] = {
            "n": len(items),
            **{f"{m}_per_s": round(r) for m, r in rate.items()},
            "strict_vs_naive": round(rate["strict"] / rate["naive"], 3),
            "lenient_over_strict_time": round(rate["strict"] / rate["lenient"], 3),
        }
    return results


def _graded_sets() -> dict[str, list[tuple[str, dict[str, str], str | None, str]]]:
    """Real outputs with (text, options, grader's pred or None, gold letter)."""
    sets: dict[str, list[tuple[str, dict[str, str], str | None, str]]] = {}
    for name, file, field in [
        (
            "mmlu_pro_llama",
            "model_outputs_Meta-Llama-3_1-8B-Instruct_5shots.health_biology.json",
            "generated_text",
        ),
        ("mmlu_pro_gemini", "model_outputs_gemini-1.5-pro-002_5shots.health_biology.json", "model_outputs"),
    ]:
        path = DATA / "mmlu_pro" / file
        if path.is_file():
            rows = json.loads(path.read_text(encoding="utf-8"))
            sets[name] = [
                (r[field], dict(zip(LETTERS, r["options"], strict=False)), r["pred"], r["answer"])
                for r in rows
            ]
    path = DATA / "huatuogpt_o1" / "demo_data.json"
    if path.is_file():
        rows = json.loads(path.read_text(encoding="utf-8"))
        sets["huatuo_demo"] = [
            (t, r["options"], None, r["answer_idx"]) for (t, _), r in zip(_huatuo_demo(), rows, strict=True)
        ]
    return sets


def agreement() -> dict[str, Any]:
    """Per real set and mode: agreement with the grader's ``pred`` (MMLU-Pro only), share with
    no answer, accuracy against the gold letter; plus the grader's own accuracy."""
    out: dict[str, Any] = {}
    for name, items in _graded_sets().items():
        n = len(items)
        row: dict[str, Any] = {"n": n}
        if items[0][2] is not None:
            row["pred_accuracy"] = round(sum(p == g for _, _, p, g in items) / n, 4)
        for mode in MODES:
            letters = [extract(t, o, mode).letter for t, o, _, _ in items]
            if items[0][2] is not None:
                row[f"{mode}_agree"] = sum(x == p for x, (_, _, p, _) in zip(letters, items, strict=True))
            row[f"{mode}_none"] = sum(x is None for x in letters)
            row[f"{mode}_accuracy"] = round(
                sum(x == g for x, (*_, g) in zip(letters, items, strict=True)) / n, 4
            )
        out[name] = row
    return out


def agreement_markdown(res: dict[str, Any]) -> str:
    lines = [
        "| set | n | mode | agrees with grader's pred | no answer | accuracy (grader's) |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in res.items():
        for mode in MODES:
            agree = (
                f"{r[f'{mode}_agree']} ({r[f'{mode}_agree'] / r['n']:.1%})" if f"{mode}_agree" in r else "–"
            )
            grader = f" ({r['pred_accuracy']:.1%})" if "pred_accuracy" in r else ""
            lines.append(
                f"| {name} | {r['n']} | {mode} | {agree} | {r[f'{mode}_none']} ({r[f'{mode}_none'] / r['n']:.1%}) "
                f"| {r[f'{mode}_accuracy']:.1%}{grader} |"
            )
    return "\n".join(lines)


def to_markdown(results: dict[str, Any]) -> str:
    head = "| set | n | naive /s | strict /s | last /s | lenient /s | strict ÷ naive speed | lenient ÷ strict time |"
    lines = [head, "|" + "---|" * 8]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['n']} | {r['naive_per_s']:,} | {r['strict_per_s']:,} | {r['last_per_s']:,} | "
            f"{r['lenient_per_s']:,} | {r['strict_vs_naive']:.2f} | {r['lenient_over_strict_time']:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="timing rounds; the best one counts")
    parser.add_argument("--agreement", action="store_true", help="also print agreement on the real outputs")
    args = parser.parse_args()
    print(to_markdown(main(args.rounds)))
    if args.agreement:
        graded = agreement()
        print()
        print(agreement_markdown(graded) if graded else f"(no real outputs under {DATA}: agreement skipped)")

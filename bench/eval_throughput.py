"""Benchmark: the ``hf`` evaluation backend against a raw batched ``model.generate`` loop and
against naive one-question-at-a-time generation, on the same prompts, in one process.

Run standalone: ``.venv/bin/python bench/eval_throughput.py [--questions 64] [--batch-size 16]
[--max-new-tokens 32] [--rounds 3] [--preset tiny] [--device cpu] [--threads N]``.
The model is the local tiny model (``--preset small-100m`` for a ~100M model on a GPU), built
without download. Greedy decoding; every method generates the same number of tokens per
question (the freshly initialised model never emits end-of-sequence, so all run to the cap).
Methods are interleaved over rounds and the best round counts (the least disturbed by other
processes). Goals: backend >= 0.9x the raw loop (its bookkeeping costs little) and >= 3x naive.
Prints a Markdown table; :func:`main` returns the numbers as a dict.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch

from medzero.data.prompts import build_messages, messages_to_text
from medzero.data.synthetic import drug_class_questions
from medzero.evaluate.backends import BackendConfig
from medzero.evaluate.backends.hf import HFBackend
from medzero.models.tiny import PRESETS, ensure_tiny_model


def _raw_loop(model, tok, texts: list[str], batch_size: int, max_new_tokens: int, device) -> int:
    """The reference: tokenize each batch with left padding, ``generate``, count new tokens."""
    eos = tok.eos_token_id
    generated = 0
    for start in range(0, len(texts), batch_size):
        enc = tok(
            texts[start : start + batch_size], padding=True, return_tensors="pt", add_special_tokens=False
        )
        enc = enc.to(device)
        with torch.inference_mode():
            out = model.generate(
                **enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tok.pad_token_id
            )
        new = out[:, enc["input_ids"].shape[1] :]
        for row in new.tolist():
            generated += next((k + 1 for k, t in enumerate(row) if t == eos), len(row))
        tok.batch_decode(new, skip_special_tokens=True)
    return generated


def _timed(fn) -> tuple[float, int]:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    tokens = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - t0, tokens


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--questions", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--naive-questions", type=int, default=16, help="naive runs on the first N only")
    ap.add_argument("--preset", default="tiny", help="tiny model preset (tiny, small-100m)")
    ap.add_argument("--device", default=None, help="cpu / cuda (default: cuda when available)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    model_dir = ensure_tiny_model(config=PRESETS.get(args.preset))
    backend = HFBackend(BackendConfig(model=str(model_dir), batch_size=args.batch_size, device=args.device))
    model, tok = backend.model, backend.tokenizer
    prompts = [build_messages(q) for q in drug_class_questions(args.questions, seed=0, split="heldout")]
    texts = [messages_to_text(p, tok) for p in prompts]
    n, cap = len(prompts), args.max_new_tokens
    naive_n = min(args.naive_questions, n)

    def run_backend() -> int:
        return sum(g[0].completion_tokens for g in backend.generate(prompts, max_new_tokens=cap))

    methods = {
        "hf backend": (n, run_backend),
        "raw batched generate": (
            n,
            lambda: _raw_loop(model, tok, texts, args.batch_size, cap, backend.device),
        ),
        "naive (one at a time)": (
            naive_n,
            lambda: _raw_loop(model, tok, texts[:naive_n], 1, cap, backend.device),
        ),
    }
    run_backend()  # warm-up (allocator, kernels)
    best: dict[str, tuple[float, int]] = {}
    for _ in range(args.rounds):
        for name, (_, fn) in methods.items():
            sec, tokens = _timed(fn)
            if name not in best or sec < best[name][0]:
                best[name] = (sec, tokens)
    results: dict[str, Any] = {
        "device": str(backend.device)
        + (f" ({torch.cuda.get_device_name()})" if backend.device.type == "cuda" else ""),
        "model_parameters": sum(p.numel() for p in model.parameters()),
        "questions": n,
        "batch_size": args.batch_size,
        "max_new_tokens": cap,
        "threads": torch.get_num_threads(),
        "methods": {},
    }
    for name, (count, _) in methods.items():
        sec, tokens = best[name]
        results["methods"][name] = {
            "questions": count,
            "seconds": sec,
            "questions_per_s": count / sec,
            "tokens_per_s": tokens / sec,
        }
    m = results["methods"]
    results["backend_vs_raw"] = (
        m["hf backend"]["questions_per_s"] / m["raw batched generate"]["questions_per_s"]
    )
    results["backend_vs_naive"] = (
        m["hf backend"]["questions_per_s"] / m["naive (one at a time)"]["questions_per_s"]
    )

    print(
        f"device {results['device']}, {results['model_parameters'] / 1e6:.1f}M parameters, {n} questions, "
        f"batch {args.batch_size}, {cap} new tokens, {results['threads']} threads, best of {args.rounds}\n"
    )
    print("| method | questions | questions/s | generated tokens/s |")
    print("|---|---:|---:|---:|")
    for name, r in m.items():
        print(f"| {name} | {r['questions']} | {r['questions_per_s']:.1f} | {r['tokens_per_s']:.0f} |")
    print(
        f"\nhf backend / raw batched loop: {results['backend_vs_raw']:.2f}x (goal >= 0.9x); "
        f"hf backend / naive: {results['backend_vs_naive']:.1f}x (goal >= 3x)"
    )
    return results


if __name__ == "__main__":
    main()

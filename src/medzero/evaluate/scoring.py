"""Generate and score questions: the engine under ``medzero eval`` and the curriculum grader.

:func:`score_items` takes a backend and questions, generates ``samples`` completions each, reads
the answer with :func:`medzero.extract.extract_all` in every mode (strict / last / lenient; there
is no other extractor) and returns one item record per (question, sample) in the ``items.jsonl``
layout. It knows nothing about files: the caller passes ``done`` keys to skip and an
``on_records`` callback to persist records as soon as a chunk is scored.

A backend failure never drops a question: failed (question, sample) pairs are retried (up to
``max_attempts`` rounds) and those still failing come back in :attr:`ScoreResult.errors`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from medzero.data.prompts import PromptConfig, build_messages, with_images
from medzero.data.schema import MCQ, question_key
from medzero.errors import MedzeroError
from medzero.evaluate.backends import Backend, Generation, Message, sample_seed
from medzero.jsonl import dumps

ItemKey = tuple[str, str, int, str]  # (benchmark, id, sample, prompt_hash)


class BackendFailure(MedzeroError):
    """The backend failed on every prompt it was given (server down, model not loadable...)."""


def prompt_hash(messages: list[Message]) -> str:
    """Stable 16-hex-digit hash of the exact chat messages a question was asked with."""
    return hashlib.sha256(dumps(messages).encode("utf-8")).hexdigest()[:16]


def item_key(record: dict[str, Any]) -> ItemKey:
    return (record["benchmark"], str(record["id"]), int(record["sample"]), record["prompt_hash"])


def score_output(mcq: MCQ, text: str, think_preopened: bool = False) -> tuple[dict, dict, dict]:
    """``(extraction, correct, lenient_first)``: per mode, the extraction as a dict and whether it
    is the gold letter; plus HuatuoGPT-o1's *first* lenient candidate (its published accuracy is
    the better of the firsts' and the lasts' accuracy over a benchmark; ``lenient`` is the last)."""
    from medzero.extract import extract_all, lenient_candidates

    found = extract_all(text, mcq.options, think_preopened=think_preopened)
    extraction = {mode: ex.to_dict() for mode, ex in found.items()}
    correct = {mode: ex.letter == mcq.answer for mode, ex in found.items()}
    first, _ = lenient_candidates(text, mcq.options)
    return extraction, correct, first.to_dict()


def item_record(
    benchmark: str, mcq: MCQ, sample: int, phash: str, gen: Generation, think_preopened: bool = False
) -> dict[str, Any]:
    """One ``items.jsonl`` line."""
    extraction, correct, lenient_first = score_output(mcq, gen.text, think_preopened)
    record = {
        "benchmark": benchmark,
        "id": mcq.id,
        "sample": sample,
        "prompt_hash": phash,
        "output": gen.text,
        "extraction": extraction,
        "gold": mcq.answer,
        "correct": correct,
        "prompt_tokens": gen.prompt_tokens,
        "completion_tokens": gen.completion_tokens,
        "finish_reason": gen.finish_reason,
        "lenient_first": lenient_first,
        "meta": {**mcq.meta, "source": mcq.source, "question_key": question_key(mcq)},
    }
    if gen.tool_calls is not None:  # --tools: the calls made before the answer (output = last turn)
        record["tool_calls"] = gen.tool_calls
    return record


@dataclass
class GenerationSettings:
    """Sampling settings shared by every question of a run."""

    samples: int = field(default=1, metadata={"help": "Completions per question (pass@k, maj@k)."})
    temperature: float = field(default=0.0, metadata={"help": "0 = greedy; > 0 samples."})
    max_new_tokens: int = field(default=1024, metadata={"help": "Cap on generated tokens per completion."})
    seed: int = field(default=0, metadata={"help": "Base seed for sampling."})


@dataclass
class ScoreResult:
    """What :func:`score_items` produced: scored records and the pairs that kept failing."""

    records: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Pending:
    mcq: MCQ
    messages: list[Message]
    phash: str
    samples: list[int]


def _plan(
    benchmark: str, mcqs: Iterable[MCQ], prompt: PromptConfig, samples: int, done: frozenset | set
) -> list[_Pending]:
    pending = []
    for mcq in mcqs:
        messages = with_images(build_messages(mcq, prompt), mcq.images)
        phash = prompt_hash(messages)
        missing = [s for s in range(samples) if (benchmark, mcq.id, s, phash) not in done]
        if missing:
            pending.append(_Pending(mcq, messages, phash, missing))
    return pending


def opens_think(backend: Backend, messages: list[Message]) -> bool:
    """Whether the prompt the backend builds from ``messages`` opens ``<think>`` (the chat template's
    generation prompt, or R1-Zero's plain-text prompt for a base model)."""
    form = getattr(backend, "prompt_form", None)
    if callable(form):
        return bool(form(messages).think_preopened)
    return bool(getattr(backend, "think_preopened", False))


def _run_chunk(
    backend: Backend, chunk: list[_Pending], gen: GenerationSettings, benchmark: str
) -> list[tuple[_Pending, int, Generation]]:
    """Generate every missing sample of ``chunk``; one backend call per distinct missing-count.
    Each sample is seeded by :func:`sample_seed` of (seed, benchmark, id, sample index), so a
    sampled run gives the same completions whatever the chunking, batching or resumption."""
    out: list[tuple[_Pending, int, Generation]] = []
    by_count: dict[int, list[_Pending]] = {}
    for p in chunk:
        by_count.setdefault(len(p.samples), []).append(p)
    for n, group in sorted(by_count.items()):
        try:
            gens = backend.generate(
                [p.messages for p in group],
                n=n,
                temperature=gen.temperature,
                max_new_tokens=gen.max_new_tokens,
                seed=gen.seed,
                seeds=[[sample_seed(gen.seed, benchmark, p.mcq.id, j) for j in p.samples] for p in group],
            )
        except Exception as exc:  # recorded per item and retried; see BackendFailure for total failure
            gens = [[Generation.failed(f"{type(exc).__name__}: {exc}")] * n for _ in group]
        for p, outs in zip(group, gens, strict=True):
            out.extend((p, s, g) for s, g in zip(p.samples, outs, strict=True))
    return out


def score_items(
    backend: Backend,
    mcqs: Iterable[MCQ],
    *,
    benchmark: str = "custom",
    prompt: PromptConfig | None = None,
    gen: GenerationSettings | None = None,
    done: frozenset | set = frozenset(),
    chunk_size: int = 64,
    max_attempts: int = 3,
    on_records: Callable[[list[dict[str, Any]]], None] | None = None,
    think_preopened: bool | None = None,
) -> ScoreResult:
    """Generate and score ``mcqs`` on ``backend``; see the module docstring.

    Args:
        benchmark: name written into each record (part of the resume key).
        prompt: how questions become chat messages (default: the r1zero template).
        gen: samples per question, temperature, token cap, seed.
        done: keys ``(benchmark, id, sample, prompt_hash)`` already scored; they are skipped.
        chunk_size: questions per backend call; records are handed to ``on_records`` per chunk.
        max_attempts: rounds of generation for pairs whose generation failed.
        on_records: called with each chunk's new records (e.g. to append them to items.jsonl).
        think_preopened: the completions start inside ``<think>``; None: the backend's own
            ``think_preopened`` (detected from its chat template).

    Raises:
        BackendFailure: when the very first chunk fails entirely (nothing could be generated).
    """
    prompt = prompt or PromptConfig()
    gen = gen or GenerationSettings()
    pending = _plan(benchmark, mcqs, prompt, gen.samples, done)

    def think(p: _Pending) -> bool:
        return opens_think(backend, p.messages) if think_preopened is None else think_preopened

    result = ScoreResult()
    failures: dict[tuple[str, int], str] = {}
    call = 0
    for _attempt in range(max_attempts):
        if not pending:
            break
        failed: dict[str, _Pending] = {}
        for start in range(0, len(pending), chunk_size):
            outs = _run_chunk(backend, pending[start : start + chunk_size], gen, benchmark)
            call += 1
            records = []
            for p, s, g in outs:
                if g.error is not None:
                    failures[(p.mcq.id, s)] = g.error
                    failed.setdefault(p.mcq.id, _Pending(p.mcq, p.messages, p.phash, [])).samples.append(s)
                else:
                    failures.pop((p.mcq.id, s), None)
                    records.append(item_record(benchmark, p.mcq, s, p.phash, g, think(p)))
            if not records and not result.records and call == 1 and outs:
                raise BackendFailure(f"the {backend.name} backend failed on every prompt: {outs[0][2].error}")
            result.records.extend(records)
            if on_records is not None and records:
                on_records(records)
        pending = list(failed.values())
    for p in pending:
        for s in p.samples:
            result.errors.append(
                {
                    "benchmark": benchmark,
                    "id": p.mcq.id,
                    "sample": s,
                    "prompt_hash": p.phash,
                    "error": failures.get((p.mcq.id, s), "unknown error"),
                    "attempts": max_attempts,
                }
            )
    return result

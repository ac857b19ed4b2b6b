"""``medzero data grade``: pass rate and difficulty bin of every question, from K sampled answers.

Grading *is* an evaluation run: :func:`grade` hands the dataset to
:func:`medzero.evaluate.runner.evaluate` as one ``file:PATH`` benchmark with ``samples=K``, so the
same backends (hf / vllm / openai), the same prompts, the same extractor and the same resumable
``items.jsonl`` are used (a rerun with the same ``--out`` scores only what is missing; a rerun
with other output-changing settings is refused). From the items it then writes, into OUT:

* ``train.jsonl`` — the questions as prepared training rows (:mod:`medzero.data.rows`) plus
  ``pass_rate``, ``difficulty``, ``grade_answers`` (the K extracted letters, ``null`` when no
  answer was found) and ``grade_correct``; ``pass_rate`` and ``difficulty`` are also put in each
  row's ``meta`` so they survive any loader. OUT is a prepared folder: train on it with
  ``data: {prepared: OUT}`` and a ``curriculum:`` section.
* ``manifest.json`` — the training-mix manifest (ids per source; copied from the input's manifest
  when the input is a prepared folder, so ``medzero eval --exclude-ids OUT`` keeps working) plus
  ``grade``: model, backend, K, sampling parameters, seed, extraction mode, thresholds, bin counts.

Questions whose K generations could not all be produced (backend errors, retried on the next run)
are graded on the samples they have; a question with none is left out and listed in the manifest
as ``ungraded_ids``.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from medzero import __version__
from medzero.console import console
from medzero.curriculum.bins import BinThresholds, assign_bin, bin_counts
from medzero.data.prompts import PromptConfig
from medzero.errors import ConfigError

ROWS_FILE = "train.jsonl"
MANIFEST_FILE = "manifest.json"


@dataclass
class GradeConfig:
    """One grading run. ``dataset``, ``model`` and ``out`` are required."""

    dataset: str = field(metadata={"help": "A question file any loader reads, or a `data prepare` folder."})
    model: str = field(metadata={"help": "Model dir / hub id (hf, vllm) or served model name (openai)."})
    out: str = field(metadata={"help": "Output folder (resumable): items.jsonl, train.jsonl, manifest.json."})
    k: int = field(
        default=8, metadata={"help": "Sampled answers per question (the pass rate's denominator)."}
    )
    backend: Literal["hf", "vllm", "openai"] = field(default="hf", metadata={"help": "Generation backend."})
    temperature: float = field(
        default=1.0, metadata={"help": "Sampling temperature; 1.0 matches TRL's GRPO default sampling."}
    )
    max_new_tokens: int = field(default=1024, metadata={"help": "Generated-token cap per answer."})
    seed: int = field(default=0, metadata={"help": "Sampling seed."})
    mode: Literal["strict", "last", "lenient"] = field(
        default="strict", metadata={"help": "Extraction mode that decides whether an answer is correct."}
    )
    template: str = field(
        default="r1zero", metadata={"help": "Prompt template; use the one the training recipe uses."}
    )
    prompt: PromptConfig | None = field(
        default=None,
        metadata={
            "help": "The whole prompt configuration (e.g. the training recipe's data.prompt, with "
            "its system_role); when given, its template wins over `template`."
        },
    )
    thresholds: BinThresholds = field(default_factory=BinThresholds, metadata={"help": "Bin cut points."})
    limit: int | None = field(default=None, metadata={"help": "Grade only the first N questions."})
    adapter: str | None = field(default=None, metadata={"help": "LoRA adapter dir (hf, vllm)."})
    gguf_file: str | None = field(
        default=None, metadata={"help": "GGUF file converted once and used as the model ('packaged')."}
    )
    batch_size: int = field(
        default=16, metadata={"help": "hf: prompts per generate call; openai: in flight."}
    )
    base_url: str | None = field(default=None, metadata={"help": "openai: server URL ending in /v1."})
    api_key: str | None = field(default=None, metadata={"help": "openai: bearer token."})
    device: str | None = field(default=None, metadata={"help": "hf: cpu / cuda / cuda:N."})
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = field(
        default="auto", metadata={"help": "Weights dtype."}
    )

    def __post_init__(self) -> None:
        from medzero.evaluate.config import prompt_settings

        self.prompt = prompt_settings(self.prompt, self.template)
        self.template = self.prompt.template
        if self.k < 1:
            raise ConfigError(f"--k must be >= 1, got {self.k}")
        if self.mode not in ("strict", "last", "lenient"):
            raise ConfigError(f'--mode must be strict, last or lenient, got "{self.mode}"')

    def eval_config(self, questions: Path):
        from medzero.evaluate.config import EvalConfig

        return EvalConfig(
            model=self.model,
            out=self.out,
            adapter=self.adapter,
            gguf_file=self.gguf_file,
            backend=self.backend,
            benchmarks=[f"file:{questions}"],
            limit=self.limit,
            samples=self.k,
            temperature=self.temperature,
            max_new_tokens=self.max_new_tokens,
            seed=self.seed,
            batch_size=self.batch_size,
            prompt=self.prompt,
            base_url=self.base_url,
            api_key=self.api_key,
            device=self.device,
            dtype=self.dtype,
            n_boot=200,
        )


def resolve_questions(dataset: str | Path) -> tuple[Path, dict[str, Any] | None]:
    """The question file to grade and, for a prepared folder, its manifest."""
    path = Path(dataset)
    if path.is_dir():
        rows = path / ROWS_FILE
        if not rows.is_file():
            raise ConfigError(f"{path}: a folder must be a `medzero data prepare` output (no {ROWS_FILE})")
        manifest = path / MANIFEST_FILE
        return rows.resolve(), json.loads(
            manifest.read_text(encoding="utf-8")
        ) if manifest.is_file() else None
    if not path.is_file():
        raise ConfigError(f"dataset not found: {path}")
    return path.resolve(), None


def answers_by_question(
    items: dict, benchmark: str, mode: str
) -> dict[str, list[tuple[int, str | None, bool]]]:
    """``id -> [(sample, extracted letter, correct)]`` sorted by sample, for one benchmark's items."""
    out: dict[str, list[tuple[int, str | None, bool]]] = defaultdict(list)
    for rec in items.values():
        if rec["benchmark"] != benchmark:
            continue
        out[str(rec["id"])].append(
            (int(rec["sample"]), rec["extraction"][mode]["letter"], bool(rec["correct"][mode]))
        )
    return {qid: sorted(v) for qid, v in out.items()}


def graded_row(mcq: Any, answers: list[tuple[int, str | None, bool]], cfg: GradeConfig) -> dict[str, Any]:
    """The training row of one question with its grade."""
    from medzero.data.rows import mcq_to_row

    n_correct = sum(ok for _, _, ok in answers)
    rate = n_correct / len(answers)
    bin_ = assign_bin(rate, cfg.thresholds)
    row = mcq_to_row(mcq, cfg.prompt)
    row["meta"] = json.dumps(
        {**mcq.meta, "pass_rate": rate, "difficulty": bin_}, ensure_ascii=False, sort_keys=True
    )
    row.update(
        pass_rate=rate,
        difficulty=bin_,
        grade_answers=[letter for _, letter, _ in answers],
        grade_correct=n_correct,
    )
    return row


def grade(cfg: GradeConfig, backend: Any = None) -> dict[str, Any]:
    """Run (or resume) grading into ``cfg.out`` and return the manifest it wrote."""
    from medzero.data.prepare import relative_images
    from medzero.evaluate.benchmarks import get_benchmark, load_benchmark
    from medzero.evaluate.items import read_items
    from medzero.evaluate.runner import ITEMS, evaluate
    from medzero.jsonl import sha256_file, write_json_atomic, write_jsonl

    questions, source_manifest = resolve_questions(cfg.dataset)
    ecfg = cfg.eval_config(questions)
    evaluate(ecfg, backend=backend)
    bench = get_benchmark(ecfg.benchmarks[0])
    loaded = load_benchmark(bench, None, limit=cfg.limit)
    answers = answers_by_question(read_items(Path(cfg.out) / ITEMS), bench.name, cfg.mode)

    out = Path(cfg.out)
    rows, ungraded, partial = [], [], 0
    for mcq in relative_images(loaded.records, out):  # OUT is a prepared folder: paths relative to it
        got = answers.get(mcq.id, [])[: cfg.k]
        if not got:
            ungraded.append(mcq.id)
            continue
        partial += len(got) < cfg.k
        rows.append(graded_row(mcq, got, cfg))
    if not rows:
        raise ConfigError(f"no question of {questions} could be graded (see {cfg.out}/errors.jsonl)")
    write_jsonl(out / ROWS_FILE, rows)

    counts = bin_counts(r["difficulty"] for r in rows)
    mean_rate = sum(r["pass_rate"] for r in rows) / len(rows)
    chance = sum(1 / len(r["options"]) for r in rows) / len(rows)
    letters = Counter(str(a) for r in rows for a in r["grade_answers"])
    by_source: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        by_source[r["source"]].append(r["id"])
    base = source_manifest or {}
    manifest = {
        "recipe": f"grade({base.get('recipe', questions.name)})",
        "seed": base.get("seed", cfg.seed),
        "counts": {s: len(ids) for s, ids in by_source.items()},
        "total": len(rows),
        "inputs": {str(questions): sha256_file(questions)},
        "outputs": {ROWS_FILE: sha256_file(out / ROWS_FILE)},
        "medzero_version": __version__,
        "train_ids": base.get("train_ids") or dict(by_source),
        "heldout_ids": base.get("heldout_ids", {}),
        "grade": {
            "model": cfg.model,
            "adapter": cfg.adapter,
            "gguf_file": cfg.gguf_file,
            "backend": cfg.backend,
            "k": cfg.k,
            "sampling": {
                "temperature": cfg.temperature,
                "max_new_tokens": cfg.max_new_tokens,
                "seed": cfg.seed,
            },
            "template": cfg.template,
            "prompt": asdict(cfg.prompt) if cfg.prompt is not None else None,
            "mode": cfg.mode,
            "thresholds": asdict(cfg.thresholds),
            "bins": counts,
            "mean_pass_rate": mean_rate,
            "chance_pass_rate": chance,
            "answer_letters": dict(sorted(letters.items())),
            "partially_graded": partial,
            "ungraded_ids": ungraded,
        },
    }
    write_json_atomic(out / MANIFEST_FILE, manifest)
    console.print(
        f"graded {len(rows)} questions with K={cfg.k}: "
        + ", ".join(f"{b} {n}" for b, n in counts.items())
        + (
            f"; [yellow]{len(ungraded)} ungraded, {partial} partial: rerun to retry[/]"
            if ungraded or partial
            else ""
        )
    )
    if mean_rate <= 1.25 * chance:
        console.print(
            f"[yellow]mean pass rate {mean_rate:.2f} is near chance ({chance:.2f}): the bins mostly reflect "
            "which answer letters the model prefers, not how hard the questions are "
            "(see docs/curriculum.md)[/]"
        )
    return manifest

"""Validation during training: the recipe's ``validation:`` section, loading its questions, the
scores it logs and the bookkeeping of ``RUN_DIR/best``.

Light to import (no torch/transformers): the recipe and the pre-flight checks use it. The part
that generates, inside the training loop, is :mod:`medzero.train.validation_callback`.

Every ``validation.every`` optimizer steps (and once more at the end of training) the policy
answers the validation questions greedily through the evaluation engine
(:func:`medzero.evaluate.score_items`, the one extractor in strict / last / lenient modes), with
the run's own prompt settings (``data.prompt``: template, system prompt, system role) and a
completion cap that defaults to the run's ``grpo.max_completion_length``. The scores go to
``metrics.jsonl`` as ``eval/*`` keys, every scored item to ``validation.jsonl``, and the model
with the highest strict accuracy so far (ties: the earliest step) to ``RUN_DIR/best``.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medzero.data.schema import MCQ
from medzero.errors import ConfigError

VALIDATION_FILE = "validation.jsonl"
BEST_DIR, BEST_INFO = "best", "best.json"
#: The metric ``RUN_DIR/best`` is chosen by.
BEST_METRIC = "eval/strict"


@dataclass
class ValidationSection:
    """Held-out questions scored during training; ``RUN_DIR/best`` keeps the best model."""

    benchmark: str | None = field(
        default=None,
        metadata={
            "help": "What to validate on, as `medzero eval --benchmarks` takes it: file:PATH (any question "
            "file a loader reads; a relative PATH is tried from the working directory, then from the "
            "recipe's folder) or a registered name (sample, medqa, ...; those need data_dir). None: no "
            "validation."
        },
    )
    holdout: int | float | None = field(
        default=None,
        metadata={
            "help": "Instead of a benchmark: hold out training questions (drawn with data.seed, after "
            "data.limit) and validate on them; they are not trained on. An integer N: N questions; a "
            "fraction in (0, 1): that share of them (at least 1, at most 200)."
        },
    )
    every: int = field(
        default=50,
        metadata={"help": "Validate every N optimizer steps (and once more after the last step); N >= 1."},
    )
    limit: int | None = field(
        default=200,
        metadata={
            "help": "Score the first N questions of the file (as `medzero eval --limit`); None: all. "
            "Each validation costs one greedy generation per question."
        },
    )
    data_dir: str | None = field(
        default=None, metadata={"help": "Benchmark folder for registered names (layout of ../shared/data)."}
    )
    max_new_tokens: int | None = field(
        default=None,
        metadata={"help": "Generated-token cap per answer; None: the run's grpo.max_completion_length."},
    )
    batch_size: int = field(default=16, metadata={"help": "Questions per generate call on each process."})
    at_start: bool = field(
        default=False,
        metadata={
            "help": "Also validate before the first step (step 0); the starting model can then be best."
        },
    )
    stop_at: float | None = field(
        default=None,
        metadata={
            "help": "Early stop: end training once validation strict accuracy reaches this fraction "
            "(e.g. 1.0); None: never. The run ends as finished, with RUN_DIR/best and final."
        },
    )
    patience: int | None = field(
        default=None,
        metadata={
            "help": "Early stop: end training after this many validations in a row without a new best, "
            "counted once a validation has beaten the first one (a run still at its starting level "
            "goes on); None: never."
        },
    )

    @property
    def enabled(self) -> bool:
        return self.benchmark is not None or self.holdout is not None

    def check(self, where=lambda key: "recipe") -> None:
        """Range checks; ``ConfigError`` naming the key (``where(key)`` gives ``file:line``)."""
        if self.benchmark is not None and self.holdout is not None:
            raise ConfigError(
                f'{where("validation.holdout")}: give "validation.benchmark" or "validation.holdout", not both'
            )
        for key, value, low in (
            ("every", self.every, 1),
            ("limit", self.limit, 1),
            ("max_new_tokens", self.max_new_tokens, 1),
            ("batch_size", self.batch_size, 1),
            ("patience", self.patience, 1),
        ):
            if value is not None and value < low:
                raise ConfigError(
                    f'{where(f"validation.{key}")}: "validation.{key}" must be >= {low}, got {value}'
                )
        h = self.holdout
        if h is not None and (isinstance(h, bool) or h <= 0 or (isinstance(h, float) and h >= 1)):
            raise ConfigError(
                f'{where("validation.holdout")}: "validation.holdout" is a count >= 1 or a fraction '
                f"in (0, 1), got {h}"
            )
        if self.stop_at is not None and not 0 < self.stop_at <= 1:
            raise ConfigError(
                f'{where("validation.stop_at")}: "validation.stop_at" is a fraction in (0, 1], got {self.stop_at}'
            )
        if self.benchmark is not None and not self.benchmark.strip():
            raise ConfigError(
                f'{where("validation.benchmark")}: "validation.benchmark" is empty; give file:PATH or a benchmark name'
            )


def resolve_benchmark(section: ValidationSection, base_dir: Path | None = None):
    """The :class:`~medzero.evaluate.benchmarks.Benchmark` to validate on; ``file:`` paths are
    tried as given, then relative to ``base_dir`` (the recipe's folder)."""
    from medzero.evaluate.benchmarks import BENCHMARKS, get_benchmark

    name = str(section.benchmark)
    if name.startswith("file:"):
        path = Path(name[len("file:") :]).expanduser()
        if (
            not path.is_absolute()
            and not path.exists()
            and base_dir is not None
            and (base_dir / path).exists()
        ):
            name = f"file:{base_dir / path}"
    elif name not in BENCHMARKS and Path(name).expanduser().exists():
        raise ConfigError(f'validation.benchmark "{name}" is a file, not a benchmark name: write file:{name}')
    return get_benchmark(name)


def holdout_count(holdout: int | float | None, n_questions: int) -> int:
    """Questions to hold out: ``holdout`` itself, or a fraction of ``n_questions`` (1 to 200)."""
    if not holdout:
        return 0
    if isinstance(holdout, float) and holdout < 1:
        return max(1, min(200, round(holdout * n_questions)))
    return int(holdout)


def split_holdout(questions: list[MCQ], section: ValidationSection, seed: int) -> tuple[list[MCQ], list[MCQ]]:
    """``(training, held out)``: with ``validation.holdout: N``, N questions drawn by a generator
    seeded with ``seed`` leave the training data (both keep file order); else ``(questions, [])``."""
    n = holdout_count(section.holdout, len(questions))
    if not n:
        return questions, []
    if n >= len(questions):
        raise ConfigError(
            f'"validation.holdout" is {n}, but the training data has {len(questions)} questions: '
            "hold out fewer, so that some remain to train on"
        )
    chosen = set(random.Random(f"validation-holdout-{seed}").sample(range(len(questions)), n))
    return (
        [q for i, q in enumerate(questions) if i not in chosen],
        [q for i, q in enumerate(questions) if i in chosen],
    )


def load_validation(
    section: ValidationSection, base_dir: Path | None = None, held_out: list[MCQ] | None = None
):
    """Load the validation questions (a :class:`~medzero.evaluate.benchmarks.LoadedBenchmark`);
    with ``validation.holdout``, wrap ``held_out`` (from :func:`split_holdout`)."""
    from medzero.evaluate.benchmarks import Benchmark, LoadedBenchmark, load_benchmark

    if section.holdout:
        records = list(held_out or [])[: section.limit]
        if not records:
            raise ConfigError("validation.holdout: no held-out questions")
        return LoadedBenchmark(
            Benchmark("holdout", "held out from the training data"), Path("<holdout>"), records
        )
    loaded = load_benchmark(resolve_benchmark(section, base_dir), section.data_dir, limit=section.limit)
    if not loaded.records:
        raise ConfigError(f"validation: {loaded.path} holds no questions")
    return loaded


def scores(records: list[dict[str, Any]]) -> dict[str, float | int | None]:
    """The ``eval/*`` values of one validation from its item records (``items.jsonl`` layout):
    accuracy per extraction mode, number of questions, share cut at the token cap, mean length."""
    from medzero.extract import MODES

    n = len(records)
    out: dict[str, float | int | None] = {
        f"eval/{m}": (sum(bool(r["correct"][m]) for r in records) / n if n else None) for m in MODES
    }
    out["eval/n"] = n
    out["eval/truncated"] = sum(r.get("finish_reason") == "length" for r in records) / n if n else None
    out["eval/mean_length"] = sum(int(r.get("completion_tokens") or 0) for r in records) / n if n else None
    return out


class BestTracker:
    """Which validation was best so far (``RUN_DIR/best/best.json``) and the atomic swap of
    ``RUN_DIR/best``: the new model is written to ``best.tmp`` first, then renamed into place."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.dir = self.run_dir / BEST_DIR
        self.tmp = self.run_dir / (BEST_DIR + ".tmp")
        self.old = self.run_dir / (BEST_DIR + ".old")
        self.info: dict[str, Any] | None = None

    def recover(self) -> None:
        """After a kill during a swap: put the previous best back, drop a half-written one."""
        if not self.dir.exists() and self.old.exists():
            self.old.rename(self.dir)
        for leftover in (self.tmp, self.old):
            if leftover.exists():
                shutil.rmtree(leftover)

    def load(self) -> dict[str, Any] | None:
        path = self.dir / BEST_INFO
        self.info = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
        return self.info

    @property
    def score(self) -> float | None:
        return None if self.info is None else self.info.get("score")

    def improves(self, score: float | None) -> bool:
        """Strictly better than the best so far (ties keep the earlier step)."""
        if score is None:
            return False
        return self.score is None or score > self.score

    def commit(self, info: dict[str, Any]) -> None:
        """``best.tmp`` (already holding the model) becomes ``best``, with ``best.json``."""
        from medzero.jsonl import write_json_atomic

        write_json_atomic(self.tmp / BEST_INFO, info)
        if self.old.exists():
            shutil.rmtree(self.old)
        if self.dir.exists():
            self.dir.rename(self.old)
        self.tmp.rename(self.dir)
        if self.old.exists():
            shutil.rmtree(self.old)
        self.info = info

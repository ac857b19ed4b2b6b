"""The benchmark registry: what ``medzero eval --benchmarks`` can name.

A benchmark is one small :class:`Benchmark` entry: where its file lives inside ``--data-dir``
(the first candidate that exists wins), which records of that file belong to it (the loader's
``source``), and how its scores are broken down. Questions, options and letters come from the
loaders in :mod:`medzero.data.loaders`; prompts from :mod:`medzero.data.prompts`.

The six of the seed study read HuatuoGPT-o1's ``eval_data.json`` (the file the published numbers
were computed on), MedXpertQA Text and PubMedQA PQA-L, in the layout of ``../shared/data``::

    DATA_DIR/huatuogpt_o1/eval_data.json   (or DATA_DIR/eval_data.json)
    DATA_DIR/medxpertqa/text_test.jsonl
    DATA_DIR/pubmedqa/ori_pqal.json + test_ground_truth.json

Two more kinds need no data dir: ``sample`` (questions bundled with medzero) and ``file:PATH``
(any file a loader understands, scored as one benchmark).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from medzero.console import console
from medzero.data.schema import MCQ
from medzero.errors import ConfigError, DataError
from medzero.registry import Registry

EVAL_DATA = ("huatuogpt_o1/eval_data.json", "eval_data.json")


@dataclass(frozen=True)
class Benchmark:
    """One evaluation set."""

    name: str = field(metadata={"help": "Registry name used on the command line and in items.jsonl."})
    title: str = field(metadata={"help": "Display name (the seed's Table 1 column when it has one)."})
    files: tuple[str, ...] = field(
        default=(),
        metadata={"help": "Candidate paths, relative to --data-dir or absolute; first found wins."},
    )
    source: str | None = field(
        default=None, metadata={"help": "Keep only loaded records with this MCQ.source (None: all)."}
    )
    fmt: str = field(default="auto", metadata={"help": "Loader format name (medzero.data.loaders.FORMATS)."})
    template: str | None = field(
        default=None, metadata={"help": "Prompt template forced for this benchmark (None: the run's)."}
    )
    breakdowns: tuple[str, ...] = field(
        default=(), metadata={"help": "meta fields to report accuracy by (e.g. medical_task)."}
    )
    dedupe: bool = field(
        default=False,
        metadata={
            "help": "Also score distinct questions (rows with equal normalised text + options merged)."
        },
    )
    official_flag: str | None = field(
        default=None, metadata={"help": "Boolean meta field marking the official test split, reported apart."}
    )
    bundled: bool = field(default=False, metadata={"help": "Files are inside the medzero package."})


BENCHMARKS: Registry[Benchmark] = Registry("benchmark")


def _add(b: Benchmark) -> None:
    BENCHMARKS.register(b.name, b)


_add(Benchmark("medmcqa", "MedMCQA", EVAL_DATA, source="medmcqa"))
_add(Benchmark("medqa", "MedQA-USMLE", (*EVAL_DATA, "medqa/US_test_4options_phrases.jsonl"), source="medqa"))
_add(
    Benchmark(
        "pubmedqa",
        "PubMedQA",
        ("pubmedqa/ori_pqal.json", *EVAL_DATA),
        source="pubmedqa",
        official_flag="official_test",
    )
)
_add(
    Benchmark(
        "mmlu_pro_med",
        "MMLU-Pro Medical",
        (*EVAL_DATA, "mmlu_pro/test_health_biology.jsonl"),
        source="mmlu_pro",
        breakdowns=("category",),
    )
)
_add(Benchmark("gpqa_med", "GPQA Medical", EVAL_DATA, source="gpqa", dedupe=True))
_add(
    Benchmark(
        "medxpertqa",
        "MedXpertQA",
        ("medxpertqa/text_test.jsonl",),
        source="medxpertqa",
        breakdowns=("medical_task", "body_system"),
    )
)
_add(
    Benchmark(
        "medxpertqa_mm",
        "MedXpertQA MM",
        ("medxpertqa/MM/test.jsonl", "medxpertqa/mm_test.jsonl"),
        source="medxpertqa_mm",
        fmt="medxpertqa_mm",
        breakdowns=("medical_task", "body_system"),
    )
)
_add(Benchmark("sample", "Bundled sample questions", ("sample_mcq.jsonl",), fmt="medzero", bundled=True))

#: The six of the seed study, in its Table 1 order (the default of ``--benchmarks``).
SEED_BENCHMARKS = ("medmcqa", "medqa", "pubmedqa", "mmlu_pro_med", "gpqa_med", "medxpertqa")


def get_benchmark(name: str) -> Benchmark:
    """A registered benchmark, or ``file:PATH`` for any loadable file."""
    if name.startswith("file:"):
        path = name[len("file:") :]
        if not path:
            raise ConfigError('"file:" needs a path, e.g. file:my_questions.jsonl')
        # MedXpertQA-style files (text or MM) carry these fields; absent fields add no rows
        return Benchmark(name, Path(path).name, (path,), breakdowns=("medical_task", "body_system"))
    return BENCHMARKS.get(name)


@dataclass
class LoadedBenchmark:
    """A benchmark's questions after loading, exclusion and ``--limit``."""

    benchmark: Benchmark
    path: Path
    records: list[MCQ]
    skipped: int = 0  # records the loader rejected (reported, never silently dropped)
    excluded: int = 0  # records removed by --exclude-ids


def find_file(bench: Benchmark, data_dir: str | Path | None) -> Path:
    """The first existing candidate file of ``bench``; a clear error listing where it looked."""
    if bench.bundled:
        from importlib.resources import files

        return Path(str(files("medzero") / "resources" / bench.files[0]))
    roots = [Path(data_dir)] if data_dir else []
    tried: list[Path] = []
    for rel in bench.files:
        rel_path = Path(os.path.expanduser(rel))
        for cand in [rel_path] if rel_path.is_absolute() or not roots else [r / rel_path for r in roots]:
            tried.append(cand)
            if cand.is_file():
                return cand
    if not bench.files:
        raise ConfigError(f'benchmark "{bench.name}" has no files')
    hint = "" if data_dir else " (pass --data-dir, e.g. ../shared/data)"
    raise DataError(
        tried[0] if tried else bench.files[0],
        None,
        None,
        f'benchmark "{bench.name}": file not found{hint}; looked for ' + ", ".join(str(t) for t in tried),
    )


@lru_cache(maxsize=8)
def _load_file(path: str, fmt: str, mtime_ns: int) -> tuple[tuple[MCQ, ...], tuple[str, ...], str]:
    """Load a file once per run even when several benchmarks share it (eval_data.json).
    Returns the records, one message per skipped record, and the format used."""
    from medzero.data.loaders import load_mcqs

    result = load_mcqs(path, fmt=fmt)
    for err in result.errors[:5]:
        console.print(f"[yellow]skipped:[/] {err}")
    return tuple(result.records), tuple(str(e) for e in result.errors), result.format


def _none_loaded(path: Path, bench: Benchmark, n_records: int, skipped: tuple[str, ...]) -> DataError:
    """The error for a benchmark that ends up with no questions, saying why: every record of the
    file was skipped (with the first reasons), or none of the loaded ones has the benchmark's source."""
    if not n_records:
        if not skipped:
            return DataError(path, None, None, f'benchmark "{bench.name}": the file has no records')
        first = "; ".join(skipped[:3])
        more = f" (and {len(skipped) - 3} more)" if len(skipped) > 3 else ""
        which = "its only record was" if len(skipped) == 1 else f"all {len(skipped)} records were"
        return DataError(
            path,
            None,
            None,
            f'benchmark "{bench.name}": {which} skipped as malformed: {first}{more}',
        )
    return DataError(
        path,
        None,
        "source",
        f'benchmark "{bench.name}": none of the {n_records} loaded records has source "{bench.source}"',
    )


def load_benchmark(
    bench: Benchmark, data_dir: str | Path | None = None, limit: int | None = None, exclude=None
) -> LoadedBenchmark:
    """Load ``bench`` from ``data_dir``; drop ``exclude``'d ids (see :mod:`.exclusions`), then keep
    the first ``limit`` questions (file order, so a limited run is a prefix of the full one)."""
    path = find_file(bench, data_dir)
    records, skipped, _ = _load_file(str(path), bench.fmt, path.stat().st_mtime_ns)
    mine = [r for r in records if bench.source is None or r.source == bench.source]
    if not mine:
        raise _none_loaded(path, bench, len(records), skipped)
    excluded = 0
    if exclude is not None:
        kept = [r for r in mine if not exclude.excludes(r)]
        excluded = len(mine) - len(kept)
        mine = kept
    if limit is not None:
        mine = mine[:limit]
    return LoadedBenchmark(bench, path, mine, skipped=len(skipped), excluded=excluded)

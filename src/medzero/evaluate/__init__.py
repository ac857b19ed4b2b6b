"""Evaluation: score a model on the medical benchmarks (``medzero eval``).

Python API (imported lazily, so ``import medzero.evaluate`` stays light)::

    from medzero.evaluate import EvalConfig, evaluate
    summary = evaluate(EvalConfig(model="models/tiny", benchmarks=["sample"], out="eval-out"))
    summary.score("sample", "strict")            # accuracy, strict extraction

    from medzero.evaluate import BackendConfig, make_backend, score_items
    backend = make_backend("hf", BackendConfig(model="models/tiny"))
    records = score_items(backend, mcqs, benchmark="mine").records   # items.jsonl-shaped dicts
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "EvalConfig": "medzero.evaluate.config",
    "evaluate": "medzero.evaluate.runner",
    "read_items": "medzero.evaluate.items",
    "Summary": "medzero.evaluate.summary",
    "score_items": "medzero.evaluate.scoring",
    "GenerationSettings": "medzero.evaluate.scoring",
    "ScoreResult": "medzero.evaluate.scoring",
    "BackendConfig": "medzero.evaluate.backends",
    "Generation": "medzero.evaluate.backends",
    "make_backend": "medzero.evaluate.backends",
    "BENCHMARKS": "medzero.evaluate.benchmarks",
    "get_benchmark": "medzero.evaluate.benchmarks",
    "load_benchmark": "medzero.evaluate.benchmarks",
    "compare_runs": "medzero.evaluate.compare",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'medzero.evaluate' has no attribute {name!r}")

"""medzero.analyze: training-run analysis (reward vs. length, reflection phrases, answer flips,
plots, HTML report). ``analyze_run`` and ``AnalyzeConfig`` load on first use, so importing the
package (as the CLI does at start-up) stays light."""

from __future__ import annotations

from typing import Any

__all__ = ["AnalyzeConfig", "analyze_run"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from medzero.analyze import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'medzero.analyze' has no attribute {name!r}")

"""Shared terminal output: one rich console (stderr, so stdout stays machine-readable) and one
progress-bar factory used by every long-running step."""

from __future__ import annotations

import os
import sys

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console(stderr=True, highlight=False)


def progress_disabled() -> bool:
    """Progress bars are off when MEDZERO_NO_PROGRESS=1 (tests, CI logs)."""
    return os.environ.get("MEDZERO_NO_PROGRESS", "") not in ("", "0")


def quiet_library_progress() -> None:
    """With medzero's progress off, switch off the Hugging Face libraries' bars too (transformers'
    "Loading weights", hub downloads, datasets' map/save). Libraries not imported yet read the
    environment variables at import (a value the user set stays); those already imported are
    switched off directly. Imports nothing; cheap to call before every model load."""
    if not progress_disabled():
        return
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # transformers reads it too
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    for module, switch in (
        ("transformers.utils.logging", "disable_progress_bar"),
        ("huggingface_hub.utils", "disable_progress_bars"),
        ("datasets", "disable_progress_bars"),
    ):
        if module in sys.modules:
            getattr(sys.modules[module], switch)()


def make_progress(*extra_columns: object, transient: bool = False) -> Progress:
    """A progress bar with count, rate-friendly extra columns, elapsed and remaining time.

    Pass extra :class:`rich.progress.ProgressColumn`s (e.g. a ``TextColumn("{task.fields[rate]}")``)
    to show live figures such as items/s or the mean reward.
    """
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        *extra_columns,
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=transient,
        disable=progress_disabled(),
    )

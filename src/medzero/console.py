"""Shared terminal output: one rich console (stderr, so stdout stays machine-readable) and one
progress-bar factory used by every long-running step."""

from __future__ import annotations

import os

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

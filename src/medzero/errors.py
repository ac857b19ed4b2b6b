"""Error types shown to users without a traceback.

Every error a user can cause (bad file, bad field, bad recipe key) is a :class:`MedzeroError`;
the CLI prints its message and exits with status 2. Messages name the place:
``medqa.jsonl:412: field "answer_idx": expected A-E, got "F"``.
"""

from __future__ import annotations

from pathlib import Path


class MedzeroError(Exception):
    """Base class for errors caused by user input; the CLI prints them without a traceback."""


class DataError(MedzeroError):
    """A malformed input record or file.

    Args:
        path: the file (or dataset name) the record came from.
        line: 1-based line number (JSONL) or 0-based index (JSON arrays / datasets); ``None`` if unknown.
        field: the offending field, if one.
        message: what is wrong and, where possible, what was expected.
    """

    def __init__(self, path: str | Path | None, line: int | None, field: str | None, message: str):
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        self.message = message
        super().__init__(self.format())

    def format(self) -> str:
        where = self.path or "<input>"
        if self.line is not None:
            where += f":{self.line}"
        what = f'field "{self.field}": ' if self.field else ""
        return f"{where}: {what}{self.message}"


class ConfigError(MedzeroError):
    """A bad recipe/config value (unknown key, wrong type, inconsistent settings)."""

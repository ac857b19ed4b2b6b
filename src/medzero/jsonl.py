"""JSON/JSONL reading and writing shared by every stage.

* :func:`iter_jsonl` yields ``(line_number, object)`` and reports bad lines as
  :class:`~medzero.errors.DataError` naming file and line (or collects them).
* :class:`JsonlAppender` appends records and flushes (optionally fsyncs) so that nothing
  already written is lost when a process is killed; a torn last line left by a kill is
  detected and cut off by :func:`repair_jsonl_tail` before appending again.
* :func:`write_json_atomic` writes through a temporary file and ``os.replace``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from medzero.errors import DataError


def iter_jsonl(
    path: str | Path, errors: list[DataError] | None = None, *, objects_only: bool = False
) -> Iterator[tuple[int, Any]]:
    """Yield ``(lineno, obj)`` for each non-blank line (1-based line numbers).

    A line that is not valid JSON (or, with ``objects_only``, not a JSON object) raises
    :class:`DataError`, or is appended to ``errors`` and skipped when a list is given (the caller
    then reports how many were skipped). A torn last line (no newline: the writer was killed) says so.
    Undecodable bytes are replaced rather than aborting the whole file.
    """
    path = Path(path)
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            err = None
            obj, problem = parse_line(line)
            if problem is not None:
                err = DataError(path, lineno, None, problem)
            else:
                if objects_only and not isinstance(obj, dict):
                    err = DataError(path, lineno, None, f"expected a JSON object, got {type(obj).__name__}")
            if err is not None:
                if errors is None:
                    raise err
                errors.append(err)
                continue
            yield lineno, obj


def parse_line(line: str) -> tuple[Any, str | None]:
    """``(object, None)`` for one JSON line, or ``(None, what is wrong)``; never raises.

    Beyond syntax errors this covers what ``json.loads`` raises on hostile input: nesting deeper
    than the interpreter's recursion limit, and integers over Python's 4,300-digit limit."""
    try:
        return json.loads(line), None
    except json.JSONDecodeError as exc:
        torn = "" if line.endswith("\n") else " (torn last line: the writer was probably killed)"
        return None, f"invalid JSON ({exc.msg.removesuffix(' at')} at column {exc.colno}){torn}"
    except RecursionError:
        return None, "invalid JSON (nested too deeply)"
    except ValueError as exc:  # "Exceeds the limit (4300 digits) for integer string conversion"
        return None, "invalid JSON (a number with more than 4300 digits)" if "digits" in str(exc) else str(
            exc
        )


def read_json(path: str | Path) -> Any:
    """Load a whole JSON file; a syntax error names file, line and column."""
    path = Path(path)
    try:
        with path.open("r", encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise DataError(path, exc.lineno, None, f"invalid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise DataError(path, None, None, "invalid JSON (nested too deeply)") from None
    except UnicodeDecodeError as exc:
        raise DataError(path, None, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except ValueError:  # an integer over 4,300 digits
        raise DataError(path, None, None, "invalid JSON (a number with more than 4300 digits)") from None


def dumps(obj: Any) -> str:
    """Compact, key-order-preserving, UTF-8 JSON used for every JSONL we write."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def repair_jsonl_tail(path: str | Path) -> int:
    """Cut a partial last line (no trailing newline, or not valid JSON) left by a killed writer.

    Returns the number of bytes removed (0 when the file is intact or absent).
    """
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return 0
    with path.open("rb+") as fh:
        data = fh.read()
        keep = len(data)
        if not data.endswith(b"\n"):
            keep = data.rfind(b"\n") + 1
        else:
            last_start = data.rfind(b"\n", 0, len(data) - 1) + 1
            try:
                bad = parse_line(data[last_start:].decode("utf-8"))[1] is not None
            except UnicodeDecodeError:
                bad = True
            if bad:
                keep = last_start
        if keep != len(data):
            fh.truncate(keep)
        return len(data) - keep


class JsonlAppender:
    """Append-only JSONL writer. Each :meth:`write` is flushed; ``fsync=True`` also syncs to disk.

    Opening repairs a torn tail left by a previous kill (see :func:`repair_jsonl_tail`).
    """

    def __init__(self, path: str | Path, fsync: bool = False):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        repair_jsonl_tail(self.path)
        self._fh = self.path.open("a", encoding="utf-8")
        self._fsync = fsync

    def write(self, obj: Any) -> None:
        self.write_many([obj])

    def write_many(self, objs: list[Any]) -> None:
        if not objs:
            return
        self._fh.write("".join(dumps(o) + "\n" for o in objs))
        self._fh.flush()
        if self._fsync:
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def __enter__(self) -> JsonlAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_json_atomic(path: str | Path, obj: Any, indent: int | None = 2) -> None:
    """Write JSON via a temporary file + ``os.replace`` so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=indent)
        fh.write("\n")
    os.replace(tmp, path)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write a text file via a temporary file + ``os.replace``."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_jsonl(path: str | Path, objs: list[Any]) -> None:
    """Write a whole JSONL file atomically (deterministic bytes for the same objects)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for o in objs:
            fh.write(dumps(o) + "\n")
    os.replace(tmp, path)


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()

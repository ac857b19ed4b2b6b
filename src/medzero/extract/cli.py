"""``medzero extract``: run the one answer extractor over JSONL on stdin.

Input: one JSON object per line with ``completion`` (text, or chat messages) and ``options``
(a dict letter -> text, or a list of letters). Output (stdout): one JSON line per input line, in
order. Light to import: :mod:`medzero.extract` uses the standard library only.
"""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated, Any, TextIO

import typer


class Mode(str, Enum):
    strict = "strict"
    last = "last"
    lenient = "lenient"
    all = "all"


def _check_line(obj: Any) -> str | None:
    """What is wrong with one parsed input line, or None."""
    if not isinstance(obj, dict):
        return f"expected a JSON object, got {type(obj).__name__}"
    comp = obj.get("completion")
    if not isinstance(comp, (str, list)):
        return 'field "completion": expected a string or a list of chat messages'
    opts = obj.get("options")
    if isinstance(opts, dict):
        if not opts or not all(isinstance(k, str) and len(k.strip()) == 1 for k in opts):
            return 'field "options": expected a non-empty dict with single-letter keys'
    elif not (isinstance(opts, list) and opts and all(isinstance(x, str) for x in opts)):
        return 'field "options": expected a dict letter -> text or a non-empty list of letters'
    return None


def run_extract(
    lines: TextIO, out: TextIO, err: TextIO, modes: tuple[str, ...], think_preopened: bool = False
) -> int:
    """Process ``lines``; return the number of malformed lines."""
    from medzero.extract import extract
    from medzero.jsonl import dumps, parse_line

    bad = 0
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        obj, problem = parse_line(line)  # hostile lines (deep nesting, huge numbers) included
        if problem is None:
            problem = _check_line(obj)
        if problem is not None:
            bad += 1
            err.write(f"<stdin>:{lineno}: {problem}\n")
            out.write(dumps({"line": lineno, "error": problem}) + "\n")
            continue
        res = {m: extract(obj["completion"], obj["options"], m, think_preopened) for m in modes}
        rec: dict[str, Any] = {"id": obj["id"]} if "id" in obj else {}
        rec.update({m: r.letter for m, r in res.items()})
        rec["method"] = {m: r.method for m, r in res.items()}
        rec["reason"] = {m: r.reason for m, r in res.items()}
        out.write(dumps(rec) + "\n")
    out.flush()
    return bad


def register(app: typer.Typer) -> None:
    """Add ``medzero extract`` to the root app."""

    @app.command("extract")
    def extract_cmd(
        mode: Annotated[
            Mode, typer.Option("--mode", "-m", help="Which extraction mode(s) to run; 'all' runs the three.")
        ] = Mode.all,
        think_preopened: Annotated[
            bool,
            typer.Option(
                "--think-preopened", help="Completions start inside <think> (opened by the chat template)."
            ),
        ] = False,
    ) -> None:
        """Read JSONL {"completion", "options"} on stdin; write one JSONL result per line to stdout.

        Each output line has the letter (or null) under each mode name, plus "method" and "reason"
        maps {mode: ...}, and "id" when the input had one. A malformed line is reported on stderr
        with its line number and written as {"line": N, "error": "..."}; processing goes on and the
        exit code is 1. See docs/extraction.md.
        """
        modes = ("strict", "last", "lenient") if mode is Mode.all else (mode.value,)
        bad = run_extract(sys.stdin, sys.stdout, sys.stderr, modes, think_preopened)
        if bad:
            raise typer.Exit(1)

"""The one reader of ``items.jsonl`` (the runner's resume, ``eval compare``, grading and
``medzero analyze`` all read items through it, so they count the same records)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medzero.errors import DataError
from medzero.evaluate.scoring import ItemKey, item_key
from medzero.jsonl import iter_jsonl


def read_items(path: str | Path, issues: list[str] | None = None) -> dict[ItemKey, dict[str, Any]]:
    """Records of an ``items.jsonl`` by key ``(benchmark, id, sample, prompt_hash)``; the first
    of any duplicate wins. A line that is not a JSON object (a torn last line after a kill), or a
    record without its key fields or a ``correct`` object, is skipped; with ``issues`` given, each
    skipped line is reported there as ``file:line: why``. A missing file gives no records."""
    path = Path(path)
    items: dict[ItemKey, dict[str, Any]] = {}
    if not path.exists():
        return items
    errors: list[DataError] = []
    for lineno, rec in iter_jsonl(path, errors, objects_only=True):
        try:  # sample and prompt_hash default for hand-written or older files
            key = item_key({"sample": 0, "prompt_hash": "", **rec})
        except (KeyError, TypeError, ValueError) as exc:
            problem = f"missing or bad key field {exc}" if isinstance(exc, KeyError) else str(exc)
            if issues is not None:
                issues.append(f"{path}:{lineno}: {problem}; skipped")
            continue
        if not isinstance(rec.get("correct"), dict):
            if issues is not None:
                issues.append(
                    f'{path}:{lineno}: field "correct": expected an object of mode -> bool; skipped'
                )
            continue
        items.setdefault(key, rec)
    if issues is not None:
        issues.extend(f"{err}; skipped" for err in errors)
    return items

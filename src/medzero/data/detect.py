"""Guess a file's format from its content (``--format auto``).

Record-per-item files (JSONL or a JSON array) are classified by the keys of their first records
(:func:`classify_record`); whole-file JSON objects by their shape (eval_data.json's benchmark
keys, PubMedQA's PMID -> record or PMID -> label); folders by their layout. A file that fits no
rule is a :class:`DataError` naming the keys it saw.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from medzero.data.formats.canonical import PREPARED_TRAIN
from medzero.data.formats.huatuo import looks_like_eval_data
from medzero.errors import DataError
from medzero.jsonl import parse_line, read_json

PEEK = 5  # records looked at
_HF_DISK_FILES = ("dataset_info.json", "state.json", "dataset_dict.json")
_HF_FILE_SUFFIXES = (".parquet", ".arrow", ".csv")


def classify_record(rec: Mapping[str, Any]) -> str | None:
    """The row format a single record looks like, or ``None``.

    >>> classify_record({"question": "q", "opa": "x", "opb": "y", "opc": "z", "opd": "w", "cop": 1})
    'medmcqa'
    """
    keys = set(rec)
    options = rec.get("options")
    if {"id", "source", "question", "options", "answer"} <= keys:
        return "medzero"
    if {"opa", "opb", "cop"} <= keys:
        return "medmcqa"
    if {"question", "label"} <= keys:
        if "options" not in keys:
            return "medmcqa_xpert"
        return "medxpertqa_mm" if rec.get("images") else "medxpertqa"
    if isinstance(options, list) and "question" in keys and ({"answer", "answer_index"} & keys):
        return "mmlu_pro"
    if isinstance(options, dict) and {"question", "answer_idx"} <= keys:
        return "medqa"
    return None


def _classify_many(path: Path, records: list[Any]) -> str:
    dicts = [r for r in records if isinstance(r, dict)]
    votes = Counter(classify_record(r) for r in dicts)
    votes.pop(None, None)
    if votes:
        return votes.most_common(1)[0][0]
    seen = sorted({k for r in dicts for k in r}) if dicts else [type(r).__name__ for r in records[:1]]
    raise DataError(
        path,
        None,
        None,
        f"cannot detect the format from the first records (keys seen: {seen}); pass --format",
    )


def _classify_object(path: Path, data: dict[str, Any]) -> str:
    if looks_like_eval_data(data):
        return "huatuo_eval"
    values = list(itertools.islice(data.values(), PEEK))
    if values and all(isinstance(v, dict) and "QUESTION" in v for v in values):
        return "pubmedqa"
    if values and all(isinstance(v, str) and v.strip().lower() in ("yes", "no", "maybe") for v in values):
        return "pubmedqa_test"
    if classify_record(data):
        return _classify_many(path, [data])
    raise DataError(
        path,
        None,
        None,
        f"cannot detect the format of this JSON object (keys: {sorted(data)[:10]}); pass --format",
    )


def _peek_jsonl(path: Path) -> list[Any]:
    out: list[Any] = []
    with path.open("r", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            obj, problem = parse_line(line)
            if problem is not None:
                if not out:
                    raise DataError(path, lineno, None, f"not JSON or JSONL ({problem})")
                continue  # a bad line later on is reported by the loader
            out.append(obj)
            if len(out) >= PEEK:
                break
    return out


def detect_format(path: str | Path) -> str:
    """The :data:`~medzero.data.loaders.FORMATS` name for ``path``."""
    path = Path(path)
    if path.is_dir():
        if (path / "manifest.json").is_file() and (path / PREPARED_TRAIN).is_file():
            return "prepared"
        if any((path / name).is_file() for name in _HF_DISK_FILES):
            return "hf"
        raise DataError(
            path, None, None, "folder is neither a `datasets` save_to_disk folder nor a prepared mix"
        )
    if not path.is_file():
        raise DataError(path, None, None, "no such file or directory (hub datasets need --format hf)")
    if path.suffix.lower() in _HF_FILE_SUFFIXES:
        return "hf"
    try:
        with path.open("r", encoding="utf-8") as fh:
            head = fh.read(4096).lstrip()
    except UnicodeDecodeError:
        raise DataError(path, None, None, "not a UTF-8 text file") from None
    if not head:
        raise DataError(path, None, None, "empty file")
    if head.startswith("[") or path.suffix.lower() == ".json":
        return _classify_document(path, read_json(path))
    try:
        records = _peek_jsonl(path)
    except DataError:  # e.g. a pretty-printed JSON object: its first line alone is not JSON
        return _classify_document(path, read_json(path))
    return _classify_many(path, records)


def _classify_document(path: Path, data: Any) -> str:
    if isinstance(data, list):
        return _classify_many(path, data[:PEEK])
    if isinstance(data, dict):
        return _classify_object(path, data)
    raise DataError(path, None, None, f"expected JSON records, got a {type(data).__name__}")

"""Tiny self-written corpora shared by the tools tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DOCS = [
    {"id": "ramipril", "title": "Ramipril", "text": "Ramipril is an ACE inhibitor used for hypertension."},
    {
        "id": "atorva",
        "title": "Atorvastatin",
        "text": "Atorvastatin is a statin that lowers LDL cholesterol.",
    },
    {"id": "omep", "title": "Omeprazole", "text": "Omeprazole is a proton pump inhibitor for acid reflux."},
    {"id": "metop", "title": "Metoprolol", "text": "Metoprolol is a beta blocker that slows the heart rate."},
]


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.fixture
def docs_jsonl(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "docs.jsonl", DOCS)


@pytest.fixture
def built_index(tmp_path: Path, docs_jsonl: Path) -> Path:
    from medzero.tools.corpus import build_index
    from medzero.tools.documents import read_documents

    docs, skipped, sources = read_documents([docs_jsonl])
    out = tmp_path / "index"
    build_index(docs, out, sources=sources, skipped=skipped)
    return out

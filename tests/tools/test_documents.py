from __future__ import annotations

import json

import pytest
from tests.tools.conftest import DOCS, write_jsonl

from medzero.errors import DataError, MedzeroError
from medzero.tools.documents import CorpusError, read_documents


def test_jsonl_documents_keep_order_and_fields(docs_jsonl):
    docs, skipped, sources = read_documents([docs_jsonl])
    assert [d.id for d in docs] == [d["id"] for d in DOCS] and skipped == []
    assert docs[0].title == "Ramipril" and docs[0].source == f"{docs_jsonl}:1"
    assert sources == [{"path": str(docs_jsonl), "reader": "jsonl", "documents": 4, "skipped": 0}]


def test_bad_documents_are_all_listed_with_file_line_and_field(tmp_path):
    path = write_jsonl(
        tmp_path / "bad.jsonl",
        [
            DOCS[0],
            {"title": "no id", "text": "x"},  # line 2: id missing
            "{not json",  # line 3
            {"id": "e", "text": "   "},  # line 4: empty text
            {"id": "t", "text": 5},  # line 5: text not a string
            {"id": "ramipril", "text": "again"},  # line 6: duplicate id
            {"id": True, "text": "x"},  # line 7: boolean id
        ],
    )
    with pytest.raises(CorpusError) as exc:
        read_documents([path])
    msg = str(exc.value)
    assert msg.startswith("6 bad documents")
    for expected in (
        f'{path}:2: field "id": missing',
        f"{path}:3: invalid JSON",
        f'{path}:4: field "text": empty',
        f'{path}:5: field "text": expected a string, got int',
        f'{path}:6: field "id": duplicate id "ramipril" (first at {path}:1)',
        f'{path}:7: field "id": expected a string or integer, got true',
    ):
        assert expected in msg


def test_skip_bad_keeps_the_good_ones(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [DOCS[0], {"id": "x"}, DOCS[1]])
    docs, skipped, sources = read_documents([path], skip_bad=True)
    assert [d.id for d in docs] == ["ramipril", "atorva"]
    assert [str(e) for e in skipped] == [f'{path}:2: field "text": missing']
    assert sources[0]["skipped"] == 1


def test_text_folder_one_document_per_file_sorted(tmp_path):
    folder = tmp_path / "guide"
    (folder / "cardio").mkdir(parents=True)
    (folder / "cardio" / "ace.md").write_text("# ACE inhibitors\nRamipril lowers blood pressure.\n")
    (folder / "a.txt").write_text("Statins lower cholesterol.\n")
    (folder / "skip.pdf").write_bytes(b"%PDF")
    docs, _, sources = read_documents([folder])
    assert [(d.id, d.title) for d in docs] == [("a.txt", "a"), ("cardio/ace.md", "ace")]
    assert sources[0]["reader"] == "text"


def test_text_file_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes(b"line one\nna\xefve\n")
    with pytest.raises(CorpusError, match=r"latin.txt:2: not UTF-8 text \(byte 0xef\)"):
        read_documents([path])


def test_pubmedqa_reader_uses_contexts_without_the_conclusion(tmp_path):
    path = tmp_path / "ori_pqal.json"
    rec = {"QUESTION": "Q?", "CONTEXTS": ["First part.", "Second part."], "LONG_ANSWER": "So yes."}
    path.write_text(json.dumps({"123": rec, "456": {"CONTEXTS": []}}))
    with pytest.raises(CorpusError, match=r'field "456.CONTEXTS": expected a non-empty list'):
        read_documents([path])
    docs, _, _ = read_documents([path], skip_bad=True)
    assert [(d.id, d.title, d.text) for d in docs] == [("123", "", "First part. Second part.")]


def test_duplicate_ids_across_files_are_refused(tmp_path, docs_jsonl):
    other = write_jsonl(tmp_path / "other.jsonl", [DOCS[2]])
    with pytest.raises(CorpusError, match=f'duplicate id "omep" \\(first at {docs_jsonl}:3\\)'):
        read_documents([docs_jsonl, other])


def test_missing_path_and_empty_corpus(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_documents([tmp_path / "nope.jsonl"])
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(MedzeroError, match="no documents to index"):
        read_documents([tmp_path / "empty.jsonl"])

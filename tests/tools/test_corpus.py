from __future__ import annotations

import json

import pytest

from medzero.errors import ConfigError, DataError, MedzeroError
from medzero.tools.chunking import ChunkConfig
from medzero.tools.corpus import BM25Config, CorpusIndex, build_index, tokenize
from medzero.tools.documents import Document, read_documents


def test_search_ranks_the_matching_document_first(built_index):
    index = CorpusIndex(built_index)
    hits = index.search("which drug is a proton pump inhibitor", k=5)
    assert hits[0].id == "omep" and hits[0].chunk == 0 and hits[0].title == "Omeprazole"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(h.score > 0 for h in hits)
    assert {h.id for h in hits} == {"omep", "ramipril"}  # only chunks sharing a word are hits


def test_title_is_searchable(built_index):
    assert CorpusIndex(built_index).search("metoprolol", k=1)[0].id == "metop"


def test_k_caps_hits_and_unknown_or_stop_words_give_none(built_index):
    index = CorpusIndex(built_index)
    assert len(index.search("is", k=5)) == 0  # a stop word only
    assert index.search("zzzunknown", k=5) == []
    assert len(index.search("inhibitor statin beta", k=2)) == 2
    with pytest.raises(ConfigError, match="k must be >= 1"):
        index.search("statin", k=0)


def test_ties_go_to_the_earlier_chunk(tmp_path):
    docs = [Document(f"d{i}", "", "alpha beta", f"x:{i}") for i in range(5)]
    build_index(docs, tmp_path / "i")
    hits = CorpusIndex(tmp_path / "i").search("alpha", k=3)
    assert [h.id for h in hits] == ["d0", "d1", "d2"] and len({h.score for h in hits}) == 1


def test_long_documents_are_chunked_and_hits_name_the_chunk(tmp_path):
    filler = " ".join(f"filler{i}" for i in range(40))
    doc = Document("book", "Pharmacology", f"{filler} digoxin toxicity causes visual halos {filler}", "b:1")
    manifest = build_index([doc], tmp_path / "i", chunking=ChunkConfig(words=20, overlap=5))
    index = CorpusIndex(tmp_path / "i")
    assert manifest["chunks"] == len(index) > 3
    hit = index.search("digoxin halos", k=1)[0]
    assert hit.id == "book" and "digoxin toxicity" in hit.text
    assert hit.chunk == next(i for i, r in enumerate(index.chunks) if "digoxin" in r["text"])


def test_manifest_records_sources_hashes_and_settings(tmp_path, docs_jsonl):
    docs, _, sources = read_documents([docs_jsonl])
    m = build_index(docs, tmp_path / "i", sources=sources, bm25=BM25Config(k1=1.2, b=0.5))
    on_disk = json.loads((tmp_path / "i" / "manifest.json").read_text())
    assert on_disk == m
    assert (m["documents"], m["chunks"]) == (4, 4)
    assert m["sources"][0]["documents"] == 4 and len(m["sources"][0]["sha256"]) == 64
    assert m["settings"]["bm25"] == {"k1": 1.2, "b": 0.5, "method": "lucene"}
    assert m["settings"]["chunking"] == {"words": 128, "overlap": 32}
    assert "the" in m["settings"]["tokenizer"]["stopwords"]
    assert {"chunks.jsonl", "bm25/vocab.index.json", "bm25/params.index.json"} <= set(m["files"])
    assert CorpusIndex(tmp_path / "i").verify() == []


def test_same_documents_give_the_same_bytes(tmp_path, docs_jsonl):
    docs, _, sources = read_documents([docs_jsonl])
    a = build_index(docs, tmp_path / "a", sources=sources)
    b = build_index(docs, tmp_path / "b", sources=sources)
    assert a["files"] == b["files"]


def test_tampered_index_is_detected(built_index):
    (built_index / "chunks.jsonl").write_text(
        (built_index / "chunks.jsonl").read_text().replace("Ramipril", "X")
    )
    assert CorpusIndex(built_index).verify() == ["chunks.jsonl"]


def test_out_folder_rules(tmp_path, built_index):
    docs = [Document("a", "", "text", "x:1")]
    with pytest.raises(MedzeroError, match="already holds an index: pass --overwrite"):
        build_index(docs, built_index)
    build_index(docs, built_index, overwrite=True)
    assert len(CorpusIndex(built_index)) == 1
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep me")
    with pytest.raises(MedzeroError, match="not an index folder"):
        build_index(docs, other, overwrite=True)
    assert (other / "mine.txt").read_text() == "keep me"


def test_loading_something_that_is_not_an_index(tmp_path, built_index):
    with pytest.raises(MedzeroError, match="not a corpus index"):
        CorpusIndex(tmp_path)
    manifest = json.loads((built_index / "manifest.json").read_text())
    (built_index / "manifest.json").write_text(json.dumps({**manifest, "version": 99}))
    with pytest.raises(DataError, match="rebuild the index"):
        CorpusIndex(built_index)


@pytest.mark.parametrize("bad", [{"k1": 0}, {"b": 1.5}, {"method": "okapi"}])
def test_bad_bm25_settings(bad):
    with pytest.raises(ConfigError):
        BM25Config(**bad)


def test_tokenize_lowercases_and_drops_stop_words():
    assert tokenize("The B12 level, and IL-6!", frozenset({"the", "and"})) == ["b12", "level", "il", "6"]

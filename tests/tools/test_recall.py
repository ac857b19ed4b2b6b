"""Self-retrieval rates, on a tiny corpus and on the real PubMedQA abstracts (skipped when absent)."""

from __future__ import annotations

import json

import pytest

from medzero.errors import DataError
from medzero.tools.corpus import CorpusIndex, build_index
from medzero.tools.documents import read_documents
from medzero.tools.recall import pubmedqa_questions, self_retrieval


def test_rates_count_a_document_found_within_k(built_index):
    index = CorpusIndex(built_index)
    queries = [("omep", "proton pump inhibitor"), ("metop", "inhibitor"), ("atorva", "zzz")]
    # "inhibitor" ranks omep/ramipril, never metop; "zzz" finds nothing
    assert self_retrieval(index, queries, ks=(1, 5)) == {"queries": 3, "top1": 1 / 3, "top5": 1 / 3}


def test_pubmedqa_questions_need_a_question(tmp_path):
    path = tmp_path / "ori_pqal.json"
    path.write_text(json.dumps({"1": {"QUESTION": "Q?"}, "2": {"QUESTION": ""}}))
    with pytest.raises(DataError, match=r'field "2\.QUESTION"'):
        pubmedqa_questions(path)


def test_pubmedqa_questions_find_their_own_abstract(shared_data, tmp_path):
    """All 1000 PQA-L items; docs/tools.md has the measured rates (top-1 0.945, top-5 0.982)."""
    path = shared_data / "pubmedqa" / "ori_pqal.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    docs, _, sources = read_documents([path])
    manifest = build_index(docs, tmp_path / "pq", sources=sources)
    assert manifest["documents"] == 1000 and manifest["chunks"] > 1000
    rates = self_retrieval(CorpusIndex(tmp_path / "pq"), pubmedqa_questions(path))
    assert rates["queries"] == 1000
    assert rates["top1"] >= 0.9 and rates["top5"] >= 0.95

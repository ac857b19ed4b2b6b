"""bench/retrieval.py on a small synthetic corpus (the figures themselves go to docs/benchmarks.md)."""

import runpy
from pathlib import Path

BENCH = runpy.run_path(str(Path(__file__).resolve().parents[2] / "bench" / "retrieval.py"))


def test_synthetic_corpus_is_seeded():
    a, b = BENCH["synthetic_documents"](3), BENCH["synthetic_documents"](3)
    assert a == b and all(60 <= len(d.text.split()) <= 300 for d in a)


def test_small_run_reports_side_by_side_figures(tmp_path):
    absent = tmp_path / "absent.json"  # synthetic corpus and queries only
    result = BENCH["measure"](chunks=300, rounds=1, baseline_queries=5, pqal=absent)
    assert result["chunks"] >= 300 and result["queries"] == 1000 and result["baseline_queries"] == 5
    assert result["search_speedup_vs_rank_bm25"] > 0 and result["build_s_per_10k_chunks"] > 0
    assert 0 <= result["top1_same_document_as_rank_bm25"] <= 1

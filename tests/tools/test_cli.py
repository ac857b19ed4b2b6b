"""``medzero corpus build|search|overlap|info`` through the real root app, and the JSON contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.tools.conftest import DOCS, write_jsonl
from typer.testing import CliRunner

from medzero.cli import build_app

runner = CliRunner()


def run(*args):
    return runner.invoke(build_app(), [str(a) for a in args], catch_exceptions=False)


def medzero(*args):
    env = {**os.environ, "COLUMNS": "1000"}  # rich would wrap long paths
    cmd = [sys.executable, "-m", "medzero.cli", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env)


def test_build_then_search_json_contract(tmp_path, docs_jsonl):
    index = tmp_path / "INDEX"
    res = run("corpus", "build", docs_jsonl, "--out", index, "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == {
        "documents": 4,
        "chunks": 4,
        "vocabulary": json.loads(res.stdout)["vocabulary"],
        "index": str(index),
        "skipped": 0,
    }
    res = run("corpus", "search", index, "beta blocker heart rate", "--k", "5", "--json")
    hits = json.loads(res.stdout)
    assert isinstance(hits, list) and 1 <= len(hits) <= 5
    assert hits[0]["id"] == "metop"
    assert all({"id", "score", "chunk", "title", "text"} <= set(h) for h in hits)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert all(isinstance(h["id"], str) and isinstance(h["score"], float) for h in hits)


def test_search_table_and_no_hits(built_index):
    res = run("corpus", "search", built_index, "statin")
    assert res.exit_code == 0 and "atorva" in res.stdout
    res = run("corpus", "search", built_index, "zzzz", "--json")
    assert json.loads(res.stdout) == []


def test_bad_documents_exit_2_with_file_and_line_and_no_traceback(tmp_path):
    path = write_jsonl(tmp_path / "docs.jsonl", [DOCS[0], {"id": "x", "title": "t"}])
    out = medzero("corpus", "build", path, "--out", tmp_path / "i")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert f'{path}:2: field "text": missing' in out.stderr and "--skip-bad" in out.stderr
    assert not (tmp_path / "i").exists()
    res = run("corpus", "build", path, "--out", tmp_path / "i", "--skip-bad", "--json")
    assert json.loads(res.stdout)["skipped"] == 1
    manifest = json.loads((tmp_path / "i" / "manifest.json").read_text())
    assert manifest["skipped"] == [f'{path}:2: field "text": missing']


def test_bad_settings_and_missing_index_exit_2(tmp_path, docs_jsonl):
    out = medzero(
        "corpus", "build", docs_jsonl, "--out", tmp_path / "i", "--chunk-words", "10", "--overlap", "10"
    )
    assert out.returncode == 2 and "overlap" in out.stderr and "Traceback" not in out.stderr
    out = medzero("corpus", "search", tmp_path / "nowhere", "x")
    assert out.returncode == 2 and "not a corpus index" in out.stderr


def test_overlap_and_build_eval_report_benchmark_stems(tmp_path):
    stem = "A 54-year-old man develops a dry cough after starting a new antihypertensive drug. Which drug?"
    bench = write_jsonl(
        tmp_path / "bench.jsonl",
        [
            {
                "id": "q1",
                "source": "b",
                "question": stem,
                "options": {"A": "ramipril", "B": "x"},
                "answer": "A",
            },
            {
                "id": "q2",
                "source": "b",
                "question": "Which statin is safest in severe kidney failure today?",
                "options": {"A": "a", "B": "b"},
                "answer": "B",
            },
        ],
    )
    docs = write_jsonl(
        tmp_path / "docs.jsonl", [*DOCS, {"id": "forum", "text": f"Exam recall: {stem} It was ramipril."}]
    )
    res = run("corpus", "build", docs, "--out", tmp_path / "i", "--eval", bench, "--json")
    assert json.loads(res.stdout)["contaminated"] == {"bench.jsonl": 1}
    saved = json.loads((tmp_path / "i" / "overlap.json").read_text())
    assert saved["benchmarks"][0]["matches"][0]["doc_id"] == "forum"
    res = run("corpus", "overlap", tmp_path / "i", bench, "--json")
    (report,) = json.loads(res.stdout)["benchmarks"]
    assert (report["records"], report["exact"], report["near"]) == (2, 1, 0)
    assert report["matches"] == [
        {"eval_id": "q1", "doc_id": "forum", "chunks": [0], "kind": "exact", "score": 1.0}
    ]
    res = run("corpus", "overlap", tmp_path / "i", bench)
    assert "q1 in document forum" in res.stdout


def test_info_verifies_hashes(built_index):
    res = run("corpus", "info", built_index, "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["changed_files"] == []
    (built_index / "bm25" / "params.index.json").write_text("{}")
    out = medzero("corpus", "info", built_index)
    assert out.returncode == 2 and "bm25/params.index.json" in out.stderr


def test_help_explains_and_start_up_stays_light():
    res = run("corpus", "build", "--help")
    assert res.exit_code == 0 and "--chunk-words" in res.stdout and "manifest" in res.stdout
    code = (
        "import sys; from medzero.cli import build_app; build_app(); "
        "print(','.join(m for m in ('bm25s', 'scipy', 'medzero.tools.corpus') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""

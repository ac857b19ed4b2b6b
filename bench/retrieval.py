"""Benchmark: queries/s of ``medzero corpus`` search beside a plain ``rank-bm25`` loop, and build time.

Run standalone: ``.venv/bin/python bench/retrieval.py [--chunks N] [--rounds R] [--quality]``.

* **Corpus.** The PubMedQA abstracts under ../shared/data (or $MEDZERO_SHARED_DATA) when present,
  padded with synthetic documents (seeded, Zipf-distributed made-up words, 60-300 words each) up
  to ``--chunks`` chunks, so the size is the same with or without the data.
* **Queries.** The PubMedQA questions when present, else 8-word queries drawn from the documents.
* **Search.** medzero: :meth:`CorpusIndex.search` (tokenise, score with bm25s, top-k, build hits).
  Baseline: the same tokens into ``rank_bm25.BM25Okapi.get_scores`` and a numpy top-k, one query
  at a time. Both are timed on the same queries, interleaved over rounds, in CPU time of this
  single-threaded process; the best round counts. The baseline runs a subset of the queries (it
  is slow) and both rates are per query.
* **Build.** Seconds to chunk, tokenise, index and save the corpus with :func:`build_index`, per
  10k chunks, beside building ``BM25Okapi`` from the same tokens (no saving).
* ``--quality`` also prints the PubMedQA self-retrieval table of docs/tools.md (top-1/top-5 of
  an item's own abstract from its question, for several chunk sizes).

:func:`main` returns the numbers as a dict (for ``bench/run_all.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from medzero.tools.chunking import ChunkConfig, chunk_text
from medzero.tools.corpus import CorpusIndex, build_index, default_stopwords, tokenize
from medzero.tools.documents import Document, read_pubmedqa
from medzero.tools.recall import pubmedqa_questions, self_retrieval

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MEDZERO_SHARED_DATA", ROOT.parent / "shared" / "data"))
PQAL = DATA / "pubmedqa" / "ori_pqal.json"


def synthetic_documents(n: int, seed: int = 0, vocab: int = 30_000) -> list[Document]:
    """``n`` documents of 60-300 made-up words with a Zipf-like word distribution."""
    rng = random.Random(seed)
    words = [f"w{i:05d}" for i in range(vocab)]
    weights = [1 / (i + 1) for i in range(vocab)]
    docs = []
    for i in range(n):
        body = rng.choices(words, weights, k=rng.randint(60, 300))
        docs.append(Document(f"syn{i}", "", " ".join(body), f"synthetic:{i}"))
    return docs


def corpus(chunks: int, config: ChunkConfig, pqal: Path = PQAL) -> tuple[list[Document], list[str], str]:
    """Documents filling about ``chunks`` chunks, queries, and a description of both."""
    docs: list[Document] = []
    queries: list[str] = []
    if pqal.is_file():
        docs = [d for d in read_pubmedqa(pqal) if isinstance(d, Document)]
        queries = [q for _, q in pubmedqa_questions(pqal)]
    real = len(docs)
    have = sum(len(chunk_text(d.text, config)) for d in docs)
    for d in synthetic_documents(chunks):  # at least one chunk each: never runs out
        if have >= chunks:
            break
        docs.append(d)
        have += len(chunk_text(d.text, config))
    if not queries:
        rng = random.Random(1)
        for _ in range(1000):
            words = rng.choice(docs).text.split()
            queries.append(" ".join(rng.sample(words, min(8, len(words)))))
    what = f"{real} PubMedQA abstracts + {len(docs) - real} synthetic documents" if real else "synthetic"
    return docs, queries, what


def _cpu(fn: Any) -> float:
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def measure(
    chunks: int = 20_000, rounds: int = 3, k: int = 5, baseline_queries: int = 50, pqal: Path = PQAL
) -> dict[str, Any]:
    from rank_bm25 import BM25Okapi

    config = ChunkConfig()
    docs, queries, what = corpus(chunks, config, pqal)
    with tempfile.TemporaryDirectory() as tmp:
        build_s = []
        for r in range(rounds):
            build_s.append(_cpu(lambda r=r: build_index(docs, Path(tmp) / f"i{r}", chunking=config)))
        index = CorpusIndex(Path(tmp) / "i0")
    stop = frozenset(default_stopwords())
    rows = index.chunks
    tokens = [tokenize(f"{r['title']}\n{r['text']}" if r["title"] else r["text"], stop) for r in rows]
    okapi_build_s = min(_cpu(lambda: BM25Okapi(tokens)) for _ in range(rounds))
    okapi = BM25Okapi(tokens)

    def plain_loop(qs: list[str]) -> None:
        for q in qs:
            scores = okapi.get_scores(tokenize(q, stop))
            top = np.argsort(-scores, kind="stable")[:k]
            [(rows[i]["id"], float(scores[i])) for i in top if scores[i] > 0]

    def medzero_loop(qs: list[str]) -> None:
        for q in qs:
            index.search(q, k)

    sub = queries[:baseline_queries]
    ours, plain = [], []
    for _ in range(rounds):  # interleaved: both see the same machine state
        ours.append(_cpu(lambda: medzero_loop(queries)))
        plain.append(_cpu(lambda: plain_loop(sub)))
    ours_qps = len(queries) / min(ours)
    plain_qps = len(sub) / min(plain)

    def same_top1(q: str) -> bool:
        hits = index.search(q, 1)
        return bool(hits) and hits[0].id == rows[int(np.argmax(okapi.get_scores(tokenize(q, stop))))]["id"]

    agree = sum(same_top1(q) for q in sub)
    n = len(index)
    return {
        "corpus": what,
        "chunks": n,
        "queries": len(queries),
        "baseline_queries": len(sub),
        "k": k,
        "search_speedup_vs_rank_bm25": round(ours_qps / plain_qps, 1),
        "medzero_queries_per_s": round(ours_qps, 1),
        "rank_bm25_queries_per_s": round(plain_qps, 1),
        "top1_same_document_as_rank_bm25": round(agree / len(sub), 3),
        "build_s_per_10k_chunks": round(min(build_s) / n * 10_000, 2),
        "rank_bm25_build_s_per_10k_chunks": round(okapi_build_s / n * 10_000, 2),
        "cpu": "process CPU time, best of rounds, one thread",
    }


def quality(chunkings: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """PubMedQA self-retrieval (all items) for each (words, overlap) chunking."""
    if not PQAL.is_file():
        return []
    docs = [d for d in read_pubmedqa(PQAL) if isinstance(d, Document)]
    queries = pubmedqa_questions(PQAL)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for words, overlap in chunkings:
            m = build_index(docs, Path(tmp) / f"{words}", chunking=ChunkConfig(words, overlap))
            rates = self_retrieval(CorpusIndex(Path(tmp) / f"{words}"), queries)
            out.append({"chunk_words": words, "overlap": overlap, "chunks": m["chunks"], **rates})
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chunks", type=int, default=20_000, help="corpus size in chunks (about)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--baseline-queries", type=int, default=50, help="queries timed for rank-bm25")
    ap.add_argument("--quality", action="store_true", help="also print the PubMedQA self-retrieval table")
    args = ap.parse_args(argv)
    result = measure(args.chunks, args.rounds, baseline_queries=args.baseline_queries)
    print("| figure | value |\n|---|---:|")
    for key, value in result.items():
        print(f"| {key} | {value} |")
    if args.quality:
        rows = quality([(64, 16), (128, 32), (256, 64), (1000, 0)])
        print("\n| chunk words | overlap | chunks | top-1 | top-5 |\n|---:|---:|---:|---:|---:|")
        for r in rows:
            print(
                f"| {r['chunk_words']} | {r['overlap']} | {r['chunks']} | {r['top1']:.1%} | {r['top5']:.1%} |"
            )
        result["pubmedqa_self_retrieval"] = rows
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()

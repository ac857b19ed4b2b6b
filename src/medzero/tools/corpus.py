"""A BM25 index over chunked documents: build, save with a manifest, load, search.

An index is a folder::

    INDEX/
      manifest.json   what went in: sources (path, reader, sha256, counts), settings, file hashes
      chunks.jsonl    one line per chunk: id (the document's), chunk (0-based), title, text, start, end
      bm25/           the bm25s score matrix, vocabulary and parameters

Tokens are lower-cased ``\\w+`` runs minus the English stop words of Lucene (the list is kept in the
manifest, so a later ``bm25s`` cannot change how an old index is queried). The title of a document is
indexed with each of its chunks. The vocabulary is sorted, so the same documents and settings give
the same bytes. Search scores every chunk with ``bm25s`` (sparse matrix, numpy) and returns the
``k`` best with a positive score, best first; ties go to the earlier chunk.

Heavy imports (``bm25s``, numpy) happen inside the functions that need them.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from medzero import __version__
from medzero.console import make_progress
from medzero.errors import ConfigError, DataError, MedzeroError
from medzero.jsonl import iter_jsonl, read_json, sha256_file, write_json_atomic, write_jsonl
from medzero.tools.chunking import Chunk, ChunkConfig, chunk_text
from medzero.tools.documents import Document

MANIFEST = "manifest.json"
CHUNKS = "chunks.jsonl"
BM25_DIR = "bm25"
INDEX_FORMAT = "medzero-corpus-index"
INDEX_VERSION = 1
TOKEN_PATTERN = r"\w+"
_TOKEN = re.compile(TOKEN_PATTERN)


@dataclass(frozen=True)
class BM25Config:
    k1: float = field(default=1.5, metadata={"help": "Term-frequency saturation (BM25 k1), > 0."})
    b: float = field(default=0.75, metadata={"help": "Length normalisation (BM25 b), 0..1."})
    method: Literal["lucene", "robertson", "atire", "bm25l", "bm25+"] = field(
        default="lucene",
        metadata={"help": "bm25s scoring variant; 'lucene' never gives negative idf."},
    )

    def __post_init__(self) -> None:
        if self.k1 <= 0:
            raise ConfigError(f"BM25 k1 must be > 0, got {self.k1}")
        if not 0 <= self.b <= 1:
            raise ConfigError(f"BM25 b must be in [0, 1], got {self.b}")
        if self.method not in ("lucene", "robertson", "atire", "bm25l", "bm25+"):
            raise ConfigError(
                f'unknown BM25 method "{self.method}"; choose lucene, robertson, atire, bm25l, bm25+'
            )


def default_stopwords() -> list[str]:
    """Lucene's English stop words, as ``bm25s`` ships them (33 words)."""
    from bm25s.stopwords import STOPWORDS_EN

    return sorted(STOPWORDS_EN)


def tokenize(text: str, stopwords: frozenset[str]) -> list[str]:
    """Lower-cased ``\\w+`` runs that are not stop words.

    >>> tokenize("The ACE inhibitor, ramipril.", frozenset({"the"}))
    ['ace', 'inhibitor', 'ramipril']
    """
    return [t for t in _TOKEN.findall(text.lower()) if t not in stopwords]


@dataclass(frozen=True)
class Hit:
    """One search result: a chunk of a document and its BM25 score."""

    id: str
    chunk: int
    score: float
    title: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "score": round(self.score, 4)}


def _chunk_rows(docs: list[Document], chunking: ChunkConfig) -> list[dict[str, Any]]:
    rows = []
    for d in docs:
        for i, c in enumerate(chunk_text(d.text, chunking)):
            rows.append(
                {"id": d.id, "chunk": i, "title": d.title, "text": c.text, "start": c.start, "end": c.end}
            )
    return rows


def build_index(
    docs: list[Document],
    out: Path,
    *,
    chunking: ChunkConfig | None = None,
    bm25: BM25Config | None = None,
    sources: list[dict] | None = None,
    skipped: list[DataError] | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Chunk ``docs``, index them with BM25 and write the index folder ``out``; returns the manifest.

    ``out`` must be absent or empty unless ``overwrite`` (then only an earlier index is replaced,
    never a folder that is not one). Files are written to ``out.tmp`` and moved into place at the
    end, so an interrupted build leaves no half index.
    """
    import bm25s

    chunking = chunking or ChunkConfig()
    bm25 = bm25 or BM25Config()
    out = Path(out)
    _check_out(out, overwrite)
    rows = _chunk_rows(docs, chunking)
    stopwords = default_stopwords()
    stop = frozenset(stopwords)
    tokens = []
    with make_progress(transient=True) as progress:
        task = progress.add_task("tokenising chunks", total=len(rows))
        for i, r in enumerate(rows):
            tokens.append(tokenize(f"{r['title']}\n{r['text']}" if r["title"] else r["text"], stop))
            if i % 1000 == 999 or i == len(rows) - 1:
                progress.update(task, completed=i + 1)
    vocab = {t: i for i, t in enumerate(sorted({t for toks in tokens for t in toks} | {""}))}
    ids = [[vocab[t] for t in toks] for toks in tokens]
    retriever = bm25s.BM25(k1=bm25.k1, b=bm25.b, method=bm25.method)
    retriever.index((ids, vocab), show_progress=False)

    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    write_jsonl(tmp / CHUNKS, rows)
    retriever.save(str(tmp / BM25_DIR), show_progress=False)
    files = sorted(p for p in tmp.rglob("*") if p.is_file())
    manifest = {
        "format": INDEX_FORMAT,
        "version": INDEX_VERSION,
        "medzero": __version__,
        "bm25s": bm25s.__version__,
        "documents": len(docs),
        "chunks": len(rows),
        "vocabulary": len(vocab) - 1,
        "settings": {
            "chunking": chunking.to_dict(),
            "bm25": asdict(bm25),
            "tokenizer": {"pattern": TOKEN_PATTERN, "lowercase": True, "stopwords": stopwords},
            "title_indexed": True,
        },
        "sources": [{**s, "sha256": _source_hash(Path(s["path"]))} for s in (sources or [])],
        "skipped": [str(e) for e in (skipped or [])],
        "files": {p.relative_to(tmp).as_posix(): sha256_file(p) for p in files},
    }
    write_json_atomic(tmp / MANIFEST, manifest)
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return manifest


def _source_hash(path: Path) -> str:
    """sha256 of a file, or of the sorted (relative path, file hash) list of a folder's text files."""
    import hashlib

    if path.is_file():
        return sha256_file(path)
    h = hashlib.sha256()
    for p in sorted(q for q in path.rglob("*") if q.is_file()):
        h.update(f"{p.relative_to(path).as_posix()}\t{sha256_file(p)}\n".encode())
    return h.hexdigest()


def _check_out(out: Path, overwrite: bool) -> None:
    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        return
    if not (out / MANIFEST).is_file():
        raise MedzeroError(f"{out} exists and is not an index folder: choose another --out")
    if not overwrite:
        raise MedzeroError(f"{out} already holds an index: pass --overwrite to replace it")


class CorpusIndex:
    """A loaded index: :meth:`search` for one query, :attr:`chunks` for the passages."""

    def __init__(self, path: str | Path):
        import bm25s

        self.path = Path(path)
        manifest_path = self.path / MANIFEST
        if not manifest_path.is_file():
            raise MedzeroError(
                f"{self.path} is not a corpus index (no {MANIFEST}); build one with `medzero corpus build`"
            )
        self.manifest: dict[str, Any] = read_json(manifest_path)
        if self.manifest.get("format") != INDEX_FORMAT or self.manifest.get("version") != INDEX_VERSION:
            raise DataError(
                manifest_path,
                None,
                "version",
                f"not a {INDEX_FORMAT} version {INDEX_VERSION} manifest; rebuild the index",
            )
        self.chunks: list[dict[str, Any]] = [row for _, row in iter_jsonl(self.path / CHUNKS)]
        if len(self.chunks) != self.manifest["chunks"]:
            raise DataError(
                self.path / CHUNKS,
                None,
                None,
                f"{len(self.chunks)} chunks but the manifest says {self.manifest['chunks']}: rebuild the index",
            )
        self._stop = frozenset(self.manifest["settings"]["tokenizer"]["stopwords"])
        self._bm25 = bm25s.BM25.load(str(self.path / BM25_DIR), show_progress=False)

    def __len__(self) -> int:
        return len(self.chunks)

    def verify(self) -> list[str]:
        """Files whose sha256 differs from the manifest (empty when the index is intact)."""
        bad = []
        for rel, digest in self.manifest["files"].items():
            p = self.path / rel
            if not p.is_file() or sha256_file(p) != digest:
                bad.append(rel)
        return bad

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """The ``k`` best chunks for ``query`` with a positive score, best first (ties: earlier chunk)."""
        import numpy as np

        if k < 1:
            raise ConfigError(f"k must be >= 1, got {k}")
        ids = self._bm25.get_tokens_ids(tokenize(query, self._stop))
        if not ids:
            return []
        scores = self._bm25.get_scores_from_ids(ids)
        k = min(k, len(scores))
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]  # the k-th best score
        top = np.flatnonzero((scores >= kth) & (scores > 0))  # every chunk tied with it too
        order = sorted(top.tolist(), key=lambda i: (-float(scores[i]), i))[:k]
        return [self._hit(i, float(scores[i])) for i in order]

    def _hit(self, i: int, score: float) -> Hit:
        row = self.chunks[i]
        return Hit(row["id"], row["chunk"], score, row["title"], row["text"])

    def document_chunks(self) -> dict[str, list[Chunk]]:
        """Chunks of every document, in order: ``{doc id: [Chunk, ...]}``."""
        out: dict[str, list[Chunk]] = {}
        for row in self.chunks:
            out.setdefault(row["id"], []).append(Chunk(row["text"], row["start"], row["end"]))
        return out

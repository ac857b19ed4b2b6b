"""``medzero corpus``: build a BM25 index of documents, search it, check it against benchmarks.

Light to import: ``bm25s`` and numpy load inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from medzero.tools.documents import READERS

corpus_app = typer.Typer(
    name="corpus",
    help=(
        "A searchable text corpus for tool-augmented reasoning: `build` chunks documents and indexes them "
        "with BM25 (bm25s; no Java, no server), `search` queries an index, `overlap` reports benchmark "
        "questions whose text is in the corpus (they would leak answers through the search tool)."
    ),
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON to stdout instead of tables.")]
NOpt = Annotated[int, typer.Option("--n", help="Words per n-gram (as `medzero data overlap`).")]
ThresholdOpt = Annotated[
    float,
    typer.Option("--threshold", help="Near match when this share of a stem's n-grams is in one document."),
]
ShowOpt = Annotated[int, typer.Option("--show", help="Matches listed per benchmark (tables only).")]


def _stdout() -> Any:
    from rich.console import Console

    return Console(highlight=False)


def _overlap_reports(index: Any, evals: list[Path], n: int, threshold: float) -> list[dict[str, Any]]:
    """One report per benchmark source in each EVAL file (a HuatuoGPT eval file holds several)."""
    from medzero.data.loaders import load_mcqs
    from medzero.tools.contamination import corpus_overlap_report

    reports = []
    for path in evals:
        by_source: dict[str, list[Any]] = {}
        for m in load_mcqs(path, "auto").records:
            by_source.setdefault(m.source, []).append(m)
        for source, questions in by_source.items():
            name = f"{path.name}:{source}" if len(by_source) > 1 else path.name
            report = corpus_overlap_report(index, name, questions, n, threshold)
            reports.append({"path": str(path), "source": source, **report})
    return reports


def _print_overlap(reports: list[dict[str, Any]], title: str, show: int) -> None:
    from rich.table import Table

    table = Table("benchmark", "records", "exact", "near", "too short", "contaminated", title=title)
    for r in reports:
        table.add_row(
            r["benchmark"],
            *(str(r[k]) for k in ("records", "exact", "near", "too_short")),
            f"{r['contaminated_frac']:.1%}",
        )
    out = _stdout()
    out.print(table)
    for r in reports:
        for m in r["matches"][:show]:
            chunks = ", ".join(map(str, m["chunks"]))
            out.print(
                f"{r['benchmark']}: {m['eval_id']} in document {m['doc_id']} "
                f"(chunks {chunks}; {m['kind']}, {m['score']:.2f})"
            )


@corpus_app.command("build")
def build_cmd(
    docs: Annotated[
        list[Path],
        typer.Argument(
            help="JSONL files (one {'id', 'title', 'text'} object per line; title optional), folders of "
            ".txt/.md files (one document per file), single .txt/.md files, or PubMedQA ori_pqal.json."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Index folder to create.")],
    reader: Annotated[
        str,
        typer.Option("--reader", help=f"auto (from each path) or one of: {', '.join(READERS.names())}."),
    ] = "auto",
    chunk_words: Annotated[int, typer.Option("--chunk-words", help="Most words per chunk.")] = 128,
    overlap_words: Annotated[
        int, typer.Option("--overlap", help="Words shared by consecutive chunks of a document.")
    ] = 32,
    k1: Annotated[float, typer.Option("--k1", help="BM25 k1 (term-frequency saturation).")] = 1.5,
    b: Annotated[float, typer.Option("--b", help="BM25 b (length normalisation, 0..1).")] = 0.75,
    skip_bad: Annotated[
        bool,
        typer.Option(
            "--skip-bad", help="Leave bad documents out (listed in the manifest) instead of failing."
        ),
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an index already in --out.")
    ] = False,
    evals: Annotated[
        Optional[list[Path]],
        typer.Option(
            "--eval", help="Benchmark file to check the corpus against (repeatable); see `overlap`."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Read documents, cut long ones into overlapping word chunks and write a BM25 index to --out.

    The index folder holds manifest.json (sources with sha256, document and chunk counts, settings, file hashes), chunks.jsonl and the bm25s matrices. Bad documents are listed with file and line (exit status 2) unless --skip-bad. With --eval, the contamination report is printed and saved as overlap.json in the index folder.
    """
    from medzero.console import console
    from medzero.errors import ConfigError
    from medzero.tools.chunking import ChunkConfig
    from medzero.tools.corpus import BM25Config, build_index
    from medzero.tools.documents import read_documents

    try:
        chunking = ChunkConfig(words=chunk_words, overlap=overlap_words)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    bm25 = BM25Config(k1=k1, b=b)
    documents, skipped, sources = read_documents(docs, reader, skip_bad=skip_bad)
    for err in skipped[:5]:
        console.print(f"[yellow]skipped[/] {err}")
    if len(skipped) > 5:
        console.print(f"... and {len(skipped) - 5} more (listed in the manifest)")
    manifest = build_index(
        documents, out, chunking=chunking, bm25=bm25, sources=sources, skipped=skipped, overwrite=overwrite
    )
    summary = {k: manifest[k] for k in ("documents", "chunks", "vocabulary")}
    summary.update(index=str(out), skipped=len(skipped))
    reports = None
    if evals:
        from medzero.jsonl import write_json_atomic
        from medzero.tools.corpus import CorpusIndex

        reports = _overlap_reports(CorpusIndex(out), evals, 8, 0.5)
        write_json_atomic(out / "overlap.json", {"n": 8, "threshold": 0.5, "benchmarks": reports})
        summary["contaminated"] = {r["benchmark"]: r["exact"] + r["near"] for r in reports}
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))
        return
    console.print(
        f"indexed {summary['documents']} documents as {summary['chunks']} chunks "
        f"({summary['vocabulary']} distinct words) -> [bold]{out}[/]"
    )
    if reports is not None:
        _print_overlap(reports, f"benchmark questions found in {out}", 5)


@corpus_app.command("search")
def search_cmd(
    index: Annotated[Path, typer.Argument(help="Index folder written by `medzero corpus build`.")],
    query: Annotated[str, typer.Argument(help="Free-text query.")],
    k: Annotated[int, typer.Option("--k", help="Number of hits to return.")] = 5,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print a JSON list of hits, best first: {id, chunk, score, title, text} (id = document id).",
        ),
    ] = False,
) -> None:
    """The --k chunks that best match QUERY (BM25), best first. Chunks with no query word are never hits."""
    from medzero.tools.corpus import CorpusIndex

    hits = CorpusIndex(index).search(query, k)
    if as_json:
        typer.echo(json.dumps([h.to_dict() for h in hits], ensure_ascii=False))
        return
    from rich.table import Table

    table = Table("rank", "id", "chunk", "score", "title", "text", title=f"{query!r} in {index}")
    for rank, h in enumerate(hits, 1):
        snippet = h.text if len(h.text) <= 160 else h.text[:157] + "..."
        table.add_row(str(rank), h.id, str(h.chunk), f"{h.score:.3f}", h.title, snippet)
    _stdout().print(table if hits else "no hits: no chunk contains a word of the query")


@corpus_app.command("overlap")
def overlap_cmd(
    index: Annotated[Path, typer.Argument(help="Index folder written by `medzero corpus build`.")],
    evals: Annotated[
        list[Path], typer.Argument(help="Benchmark files (any format `medzero data inspect` reads).")
    ],
    n: NOpt = 8,
    threshold: ThresholdOpt = 0.5,
    as_json: JsonOpt = False,
    show: ShowOpt = 5,
) -> None:
    """Benchmark questions whose stem is in a corpus document (exact substring or n-gram containment).

    A search tool over such a corpus can hand the model the question's own source, so scores on those questions measure look-up, not reasoning: exclude them or use another corpus.
    """
    from medzero.tools.corpus import CorpusIndex

    reports = _overlap_reports(CorpusIndex(index), evals, n, threshold)
    if as_json:
        payload = {"index": str(index), "n": n, "threshold": threshold, "benchmarks": reports}
        typer.echo(json.dumps(payload, ensure_ascii=False))
        return
    _print_overlap(reports, f"benchmark questions found in {index}", show)


@corpus_app.command("info")
def info_cmd(
    index: Annotated[Path, typer.Argument(help="Index folder written by `medzero corpus build`.")],
    as_json: JsonOpt = False,
) -> None:
    """What an index holds (from its manifest) and whether its files still match their sha256."""
    from medzero.errors import MedzeroError
    from medzero.tools.corpus import CorpusIndex

    idx = CorpusIndex(index)
    changed = idx.verify()
    m = idx.manifest
    if as_json:
        typer.echo(json.dumps({**m, "changed_files": changed}, ensure_ascii=False))
    else:
        s = m["settings"]
        out = _stdout()
        out.print(f"{index}: {m['documents']} documents, {m['chunks']} chunks, {m['vocabulary']} words")
        out.print(
            f"chunks: {s['chunking']['words']} words, overlap {s['chunking']['overlap']}; bm25: {s['bm25']}"
        )
        for src in m["sources"]:
            out.print(
                f"  {src['path']} ({src['reader']}): {src['documents']} documents, sha256 {src['sha256'][:12]}"
            )
    if changed:
        raise MedzeroError(f"{index}: files changed since the build: {', '.join(changed)}; rebuild the index")


def register(app: typer.Typer) -> None:
    """Add ``medzero corpus`` to the root app."""
    app.add_typer(corpus_app, name="corpus")

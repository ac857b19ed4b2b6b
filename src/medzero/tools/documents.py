"""Reading corpus documents from JSONL files, plain-text folders and PubMedQA.

Every source yields :class:`Document` objects; a bad one is a :class:`~medzero.errors.DataError`
naming the file, the line (JSONL) or the key (PubMedQA) and the field. :func:`read_documents`
collects the errors of all sources so that one run lists every problem, and refuses duplicate ids
across sources (ids name hits, so they must be unique).

Readers are registered by name in :data:`READERS`; ``auto`` picks one from the path:

* a folder -> ``text`` (every ``*.txt`` / ``*.md`` file below it, sorted, is one document; its id is
  the path relative to the folder, its title the file name without suffix);
* ``ori_pqal.json`` or another ``.json`` object of ``PMID -> {"CONTEXTS": [...]}`` -> ``pubmedqa``;
* ``*.txt`` / ``*.md`` -> ``text`` (one document);
* anything else -> ``jsonl`` (one object per line with ``id``, ``text`` and optional ``title``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from medzero.errors import DataError, MedzeroError
from medzero.jsonl import iter_jsonl, read_json
from medzero.registry import Registry

TEXT_SUFFIXES = (".txt", ".md")

#: name -> reader ``(path) -> iterator of Document | DataError``.
READERS: Registry[Callable[[Path], Iterator[Document | DataError]]] = Registry("corpus reader")


@dataclass(frozen=True)
class Document:
    """One corpus document before chunking."""

    id: str = field(metadata={"help": "Unique id; search hits carry it."})
    title: str = field(metadata={"help": "Title ('' when none); indexed with every chunk of the document."})
    text: str = field(metadata={"help": "Body text; long bodies are cut into chunks."})
    source: str = field(metadata={"help": "Where it came from, 'file:line' or 'file:key'."})


class CorpusError(MedzeroError):
    """Bad documents: the message lists each one with file and line."""

    def __init__(self, errors: list[DataError], shown: int = 20):
        self.errors = errors
        lines = [str(e) for e in errors[:shown]]
        if len(errors) > shown:
            lines.append(f"... and {len(errors) - shown} more")
        what = "document (fix it" if len(errors) == 1 else "documents (fix them"
        super().__init__(
            f"{len(errors)} bad {what}, or pass --skip-bad to leave them out):\n" + "\n".join(lines)
        )


def _text_field(obj: dict, name: str, path: Path, line: int, required: bool) -> str | DataError:
    value = obj.get(name)
    if value is None:
        return DataError(path, line, name, "missing") if required else ""
    if not isinstance(value, str):
        return DataError(path, line, name, f"expected a string, got {type(value).__name__}")
    return value


@READERS.register("jsonl")
def read_jsonl(path: Path) -> Iterator[Document | DataError]:
    """One JSON object per line: ``id`` (string or integer), ``text`` (non-empty), ``title`` (optional)."""
    bad: list[DataError] = []
    for line, obj in iter_jsonl(path, errors=bad, objects_only=True):
        yield from bad
        bad.clear()
        raw_id = obj.get("id")
        if raw_id is None or isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
            got = "missing" if raw_id is None else f"expected a string or integer, got {json.dumps(raw_id)}"
            yield DataError(path, line, "id", got)
            continue
        doc_id = str(raw_id).strip()
        if not doc_id:
            yield DataError(path, line, "id", "empty")
            continue
        title = _text_field(obj, "title", path, line, required=False)
        text = _text_field(obj, "text", path, line, required=True)
        if isinstance(title, DataError) or isinstance(text, DataError):
            yield title if isinstance(title, DataError) else text  # type: ignore[misc]
            continue
        if not text.strip():
            yield DataError(path, line, "text", "empty")
            continue
        yield Document(doc_id, title.strip(), text, f"{path}:{line}")
    yield from bad


def _read_text_file(path: Path, doc_id: str) -> Document | DataError:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return DataError(path, line, None, f"not UTF-8 text (byte 0x{data[exc.start]:02x})")
    if not text.strip():
        return DataError(path, None, None, "empty document")
    return Document(doc_id, path.stem, text, str(path))


@READERS.register("text")
def read_text(path: Path) -> Iterator[Document | DataError]:
    """A ``.txt``/``.md`` file is one document; a folder gives one per such file below it (sorted)."""
    if path.is_file():
        yield _read_text_file(path, path.stem)
        return
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES)
    if not files:
        yield DataError(path, None, None, f"no {' or '.join(TEXT_SUFFIXES)} files in this folder")
    for f in files:
        yield _read_text_file(f, f.relative_to(path).as_posix())


@READERS.register("pubmedqa")
def read_pubmedqa(path: Path) -> Iterator[Document | DataError]:
    """PubMedQA ``ori_pqal.json``: id = PMID, text = the abstract's CONTEXTS joined by spaces.

    ``LONG_ANSWER`` (the abstract's conclusion) is left out on purpose: it states the answer to the
    benchmark question. There is no title (the QUESTION is the paper's title made a question, and
    it is what a search should find the abstract from).
    """
    data = read_json(path)
    if not isinstance(data, dict):
        yield DataError(path, None, None, "expected a JSON object mapping PMID -> record")
        return
    for pmid, rec in data.items():
        where = f"{path}:{pmid}"
        contexts = rec.get("CONTEXTS") if isinstance(rec, dict) else None
        if not isinstance(contexts, list) or not contexts or not all(isinstance(c, str) for c in contexts):
            yield DataError(path, None, f"{pmid}.CONTEXTS", "expected a non-empty list of strings")
            continue
        yield Document(str(pmid), "", " ".join(c.strip() for c in contexts), where)


def detect_reader(path: Path) -> str:
    """The reader ``auto`` uses for ``path`` (see the module docstring)."""
    if path.is_dir():
        return "text"
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return "text"
    if suffix == ".json":
        return "pubmedqa"
    return "jsonl"


def read_documents(
    paths: list[Path], reader: str = "auto", skip_bad: bool = False
) -> tuple[list[Document], list[DataError], list[dict]]:
    """Documents of every path, in order; bad ones raise :class:`CorpusError` unless ``skip_bad``.

    Returns ``(documents, skipped errors, per-source summaries)``; a summary has the path, the
    reader used, and the counts of documents read and skipped.
    """
    docs: list[Document] = []
    errors: list[DataError] = []
    sources: list[dict] = []
    seen: dict[str, str] = {}
    for path in paths:
        if not path.exists():
            raise DataError(path, None, None, "no such file or folder")
        name = detect_reader(path) if reader == "auto" else reader
        fn = READERS.get(name)
        n_docs = n_bad = 0
        for item in fn(path):
            if isinstance(item, Document) and item.id in seen:
                item = DataError(
                    item.source, None, "id", f'duplicate id "{item.id}" (first at {seen[item.id]})'
                )
            if isinstance(item, DataError):
                errors.append(item)
                n_bad += 1
                continue
            seen[item.id] = item.source
            docs.append(item)
            n_docs += 1
        sources.append({"path": str(path), "reader": name, "documents": n_docs, "skipped": n_bad})
    if errors and not skip_bad:
        raise CorpusError(errors)
    if not docs:
        raise MedzeroError("no documents to index" + (f" ({len(errors)} were bad)" if errors else ""))
    return docs, errors, sources

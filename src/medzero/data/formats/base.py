"""What every format module shares: the :class:`Format` description, the per-record context that
names file/line/field in errors, raw-record readers for JSONL and JSON arrays, and small typed
field getters.

A format is two functions: ``read(path, options)`` yields ``(loc, index, raw)`` triples (``loc``
is the 1-based line of a JSONL file or the 0-based index in a JSON container, ``index`` the
0-based position of the record; ``raw`` may be a :class:`DataError` for an unreadable record),
and ``convert(raw, ctx)`` turns one raw record into an :class:`MCQ` (or ``None`` when an option
such as ``medical_only`` filters it out). Validation, duplicate ids and error collection happen
once, in :func:`medzero.data.loaders.load_mcqs`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medzero.data.schema import LETTERS, MCQ
from medzero.errors import DataError
from medzero.jsonl import iter_jsonl, read_json

RawItem = tuple[int | None, int, Any]


def read_plain(path: Path, options: Mapping[str, Any]) -> Iterator[RawItem]:
    """The default reader of a record-per-item file (options are used by ``convert`` only)."""
    return iter_records(path)


def iter_records(path: Path) -> Iterator[RawItem]:
    """Raw records of a JSONL file (by line) or a JSON file holding an array (by index)."""
    if _is_json_document(path):
        data = read_json(path)
        if not isinstance(data, list):
            raise DataError(path, None, None, f"expected a JSON array of records, got {type(data).__name__}")
        for i, rec in enumerate(data):
            yield i, i, rec
        return
    bad: list[DataError] = []
    reported = 0
    count = 0
    for lineno, rec in iter_jsonl(path, errors=bad):
        while reported < len(bad):  # invalid lines seen before this one keep their place
            yield bad[reported].line, count, bad[reported]
            reported += 1
            count += 1
        yield lineno, count, rec
        count += 1
    for err in bad[reported:]:
        yield err.line, count, err
        count += 1


def _is_json_document(path: Path) -> bool:
    """``.json`` files and files whose first non-blank character is ``[`` are one JSON document."""
    if path.suffix.lower() == ".json":
        return True
    with path.open("r", encoding="utf-8") as fh:
        head = fh.read(256).lstrip()
    return head.startswith("[")


@dataclass(frozen=True)
class RecordContext:
    """Where a raw record came from, and the loader options in force."""

    path: Path = field(metadata={"help": "The file (or dataset) being loaded."})
    loc: int | None = field(metadata={"help": "1-based JSONL line, or 0-based index in a JSON container."})
    index: int = field(metadata={"help": "0-based position of the record in the file (used for ids)."})
    options: Mapping[str, Any] = field(default_factory=dict, metadata={"help": "Loader options."})
    prefix: str = field(default="", metadata={"help": "Prepended to field names in errors (e.g. a key)."})

    def error(self, fld: str | None, message: str) -> DataError:
        name = f"{self.prefix}{fld}" if fld else (self.prefix.rstrip(".") or None)
        return DataError(self.path, self.loc, name, message)


@dataclass(frozen=True)
class Format:
    """A named input format: how to read raw records and how to turn one into an :class:`MCQ`."""

    name: str = field(metadata={"help": "Registry name, used by --format."})
    help: str = field(metadata={"help": "One line for `medzero data inspect --help` and docs."})
    convert: Callable[[Any, RecordContext], MCQ | None] = field(
        metadata={"help": "Raw record -> MCQ; None when a loader option filters the record out."}
    )
    read: Callable[[Path, Mapping[str, Any]], Iterator[RawItem]] = field(
        default=read_plain,
        metadata={"help": "Yields (loc, index, raw); the default reads JSONL or a JSON array."},
    )
    options: Mapping[str, str] | None = field(
        default_factory=dict,
        metadata={"help": "Accepted loader options (name -> help); None accepts the row format's options."},
    )
    file_images: bool = field(
        default=True,
        metadata={
            "help": "Records may carry an `images` field of file names relative to the data file "
            "(medzero.data.images); False where images are decoded objects (datasets rows)."
        },
    )


def is_row_format(fmt: Format) -> bool:
    """True when the format converts self-contained records (usable for dataset rows)."""
    return fmt.read is read_plain


def as_record(raw: Any, ctx: RecordContext) -> dict[str, Any]:
    if isinstance(raw, DataError):
        raise raw
    if not isinstance(raw, dict):
        raise ctx.error(None, f"expected a JSON object, got {type(raw).__name__}")
    return raw


def get_text(rec: Mapping[str, Any], key: str, ctx: RecordContext) -> str:
    """A required non-empty string field."""
    if key not in rec or rec[key] is None:
        raise ctx.error(key, "missing field")
    value = rec[key]
    if not isinstance(value, str):
        raise ctx.error(key, f"expected a string, got {type(value).__name__}")
    if not value.strip():
        raise ctx.error(key, "empty string")
    return value


def get_field(rec: Mapping[str, Any], key: str, ctx: RecordContext, types: type | tuple[type, ...]) -> Any:
    """A required field of the given type(s)."""
    if key not in rec or rec[key] is None:
        raise ctx.error(key, "missing field")
    value = rec[key]
    if not isinstance(value, types):
        names = "/".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
        raise ctx.error(key, f"expected {names}, got {type(value).__name__}")
    return value


def letter_dict(value: Mapping[str, Any], key: str, ctx: RecordContext) -> dict[str, str]:
    """An options dict ``letter -> text`` with string texts, in letter order."""
    out: dict[str, str] = {}
    for letter in sorted(value):
        text = value[letter]
        if text is None:  # some HF copies pad with nulls
            continue
        if not isinstance(text, str):
            raise ctx.error(f"{key}.{letter}", f"expected a string, got {type(text).__name__}")
        out[str(letter)] = text
    return out


def letter_list(values: list[Any], key: str, ctx: RecordContext) -> dict[str, str]:
    """Option texts in order -> ``{"A": ..., "B": ...}``."""
    if len(values) > len(LETTERS):
        raise ctx.error(key, f"at most {len(LETTERS)} options, got {len(values)}")
    out: dict[str, str] = {}
    for i, text in enumerate(values):
        if not isinstance(text, str):
            raise ctx.error(f"{key}[{i}]", f"expected a string, got {type(text).__name__}")
        out[LETTERS[i]] = text
    return out


def get_letter(rec: Mapping[str, Any], key: str, ctx: RecordContext) -> str:
    """A single answer letter; a one-element list (``["A"]``) is accepted."""
    value = rec.get(key)
    if isinstance(value, list):
        if len(value) != 1:
            raise ctx.error(key, f"expected exactly one answer letter, got {value!r}")
        value = value[0]
    if value is None:
        raise ctx.error(key, "missing field")
    if not isinstance(value, str) or len(value.strip()) != 1 or value.strip().upper() not in LETTERS:
        raise ctx.error(key, f"expected a letter A-Z, got {value!r}")
    return value.strip().upper()


_SPLIT_WORDS = {
    "train": "train",
    "dev": "dev",
    "validation": "validation",
    "val": "validation",
    "test": "test",
}


def infer_split(path: Path, options: Mapping[str, Any]) -> str | None:
    """The ``split`` option, else a split word in the file name (``US_test_4options`` -> ``test``)."""
    if options.get("split"):
        return str(options["split"])
    for word in re.split(r"[^a-z]+", path.stem.lower()):
        if word in _SPLIT_WORDS:
            return _SPLIT_WORDS[word]
    return None


ANSWER_CHOICES = "\nAnswer Choices:"


def split_answer_choices(question: str) -> tuple[str, dict[str, str] | None]:
    """Split ``stem + "\\nAnswer Choices: (A) x (B) y"`` into the stem and ``{"A": "x", "B": "y"}``.

    Letters are searched in order (``(A) ``, then ``(B) `` after it, ...), so a parenthesised
    letter inside an option text is not taken for the next option. Returns ``(question, None)``
    when there is no choices block.
    """
    cut = question.rfind(ANSWER_CHOICES)
    if cut < 0:
        return question, None
    stem, block = question[:cut], question[cut + len(ANSWER_CHOICES) :]
    starts: list[tuple[str, int]] = []
    pos = 0
    for letter in LETTERS:
        j = block.find(f"({letter}) ", pos)
        if j < 0:
            break
        starts.append((letter, j))
        pos = j + 4
    options = {}
    for n, (letter, j) in enumerate(starts):
        end = starts[n + 1][1] if n + 1 < len(starts) else len(block)
        options[letter] = block[j + 4 : end].strip()
    return stem.rstrip(), options

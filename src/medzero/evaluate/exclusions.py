"""``--exclude-ids``: keep questions a model was trained on out of its evaluation.

Accepted files:

* a training-mix manifest written by ``medzero data prepare`` (``manifest.json``, or the folder
  holding it): every id in its ``train_ids[source]`` is excluded from benchmarks of that source;
* a JSON object ``{source: [ids]}`` (same meaning) or a JSON list of ids (any source);
* a text file, one id per line (blank lines and ``#`` comments ignored; any source).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from medzero.data.schema import MCQ
from medzero.errors import DataError
from medzero.jsonl import read_json


@dataclass(frozen=True)
class Exclusions:
    """Ids to leave out, per source (``by_source``) or whatever the source (``anywhere``)."""

    path: str
    by_source: dict[str, frozenset[str]] = field(default_factory=dict)
    anywhere: frozenset[str] = frozenset()

    def excludes(self, mcq: MCQ) -> bool:
        return mcq.id in self.anywhere or mcq.id in self.by_source.get(mcq.source, ())

    def __len__(self) -> int:
        return len(self.anywhere) + sum(len(v) for v in self.by_source.values())


def _id_list(value: object, path: Path, where: str) -> frozenset[str]:
    if not isinstance(value, list):
        raise DataError(path, None, where, f"expected a list of ids, got {type(value).__name__}")
    return frozenset(str(v) for v in value)


def load_exclusions(path: str | Path) -> Exclusions:
    """Read an exclusion file in any of the accepted shapes (see the module docstring)."""
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.json"
    if not path.is_file():
        raise DataError(path, None, None, "--exclude-ids file not found")
    if path.suffix.lower() == ".json":
        obj = read_json(path)
        if isinstance(obj, list):
            return Exclusions(str(path), anywhere=_id_list(obj, path, None))
        if not isinstance(obj, dict):
            raise DataError(path, None, None, "expected a manifest, a {source: [ids]} object or a list")
        if "train_ids" in obj:
            obj = obj["train_ids"]
            if not isinstance(obj, dict):
                raise DataError(path, None, "train_ids", "expected {source: [ids]}")
            prefix = "train_ids."
        else:
            prefix = ""
        return Exclusions(str(path), by_source={s: _id_list(v, path, prefix + s) for s, v in obj.items()})
    lines = path.read_text(encoding="utf-8").splitlines()
    ids = frozenset(s for s in (ln.split("#", 1)[0].strip() for ln in lines) if s)
    return Exclusions(str(path), anywhere=ids)

"""``--exclude-ids``: keep questions a model was trained on out of its evaluation.

Accepted files:

* a training-mix manifest written by ``medzero data prepare`` (``manifest.json``, or the folder
  holding it): every id in its ``train_ids[source]`` is excluded from benchmarks of that source,
  and so is every duplicate dropped in favour of a trained question (``dropped_duplicate_ids``);
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


def _from_manifest(obj: dict, path: Path) -> Exclusions:
    """A prepare manifest: its trained ids, and every dropped duplicate whose kept twin was
    trained (``dropped_duplicate_ids``: ``{source: {dropped id: kept id}}``)."""
    train = obj["train_ids"]
    if not isinstance(train, dict):
        raise DataError(path, None, "train_ids", "expected {source: [ids]}")
    by_source = {s: _id_list(v, path, "train_ids." + s) for s, v in train.items()}
    twins = obj.get("dropped_duplicate_ids") or {}
    if not isinstance(twins, dict):
        raise DataError(path, None, "dropped_duplicate_ids", "expected {source: {id: kept id}}")
    for source, pairs in twins.items():
        if not isinstance(pairs, dict):
            raise DataError(path, None, f"dropped_duplicate_ids.{source}", "expected {id: kept id}")
        trained = by_source.get(source, frozenset())
        extra = {str(d) for d, kept in pairs.items() if str(kept) in trained}
        if extra:
            by_source[source] = trained | extra
    return Exclusions(str(path), by_source=by_source)


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
            return _from_manifest(obj, path)
        return Exclusions(str(path), by_source={s: _id_list(v, path, s) for s, v in obj.items()})
    data = path.read_bytes()
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(path, line, None, "not a text file of ids (not UTF-8)") from None
    ids = frozenset(s for s in (ln.split("#", 1)[0].strip() for ln in lines) if s)
    return Exclusions(str(path), anywhere=ids)

"""Hugging Face ``datasets``: a ``save_to_disk`` folder, a local parquet/JSON/JSONL/CSV file read
through ``datasets``, or a hub name (when online). Each row is converted by the row format that
:func:`medzero.data.detect.classify_record` recognises (or the ``row_format`` option), so e.g. the
HF MedMCQA copy goes through the ``medmcqa`` converter and still needs ``cop_base=0``.

``datasets`` is imported inside :func:`_read` only (it is slow to import).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from medzero.data.formats.base import Format, RawItem, RecordContext, is_row_format
from medzero.data.schema import MCQ
from medzero.errors import ConfigError, DataError

_BUILDERS = {".parquet": "parquet", ".json": "json", ".jsonl": "json", ".csv": "csv", ".arrow": "arrow"}
OWN_OPTIONS = {
    "split": "Split to load from a DatasetDict or hub dataset (default: the only split, else 'test').",
    "name": "Hub dataset configuration name (e.g. 'Text' for MedXpertQA).",
    "row_format": "Format of the rows (default: detected from the first row's columns).",
}


def _open(path: Path, options: Mapping[str, Any]) -> Any:
    import datasets

    split = options.get("split")
    if path.is_dir():
        ds = datasets.load_from_disk(str(path))
    elif path.is_file():
        builder = _BUILDERS.get(path.suffix.lower())
        if builder is None:
            raise DataError(path, None, None, f"no datasets builder for {path.suffix!r} files")
        ds = datasets.load_dataset(builder, data_files=str(path), split="train")
    else:
        ds = datasets.load_dataset(str(path), options.get("name"), split=split or "test")
    if isinstance(ds, datasets.DatasetDict):
        splits = list(ds)
        if split is None and len(splits) == 1:
            split = splits[0]
        if split not in ds:
            raise ConfigError(f"{path}: choose a split with split=...; available: {', '.join(splits)}")
        ds = ds[split]
    return ds


def _read(path: Path, options: Mapping[str, Any]) -> Iterator[RawItem]:
    from medzero.data.detect import classify_record
    from medzero.data.loaders import FORMATS

    ds = _open(path, options)
    if len(ds) == 0:
        return
    name = options.get("row_format") or classify_record(ds[0])
    if name is None:
        raise DataError(
            path, None, None, f"cannot tell the row format from columns {sorted(ds.column_names)}"
        )
    fmt = FORMATS.get(name)
    if not is_row_format(fmt):
        raise ConfigError(f'{path}: row_format "{name}" describes whole files, not dataset rows')
    unknown = set(options) - set(OWN_OPTIONS) - set(fmt.options or {})
    if unknown:
        raise ConfigError(f'{path}: option(s) {sorted(unknown)} not understood by row format "{name}"')
    for i, row in enumerate(ds):
        yield i, i, (fmt, row)


def _convert(raw: Any, ctx: RecordContext) -> MCQ | None:
    fmt, row = raw
    return fmt.convert(row, ctx)


HF = Format(
    name="hf",
    help="Hugging Face datasets: save_to_disk folder, local parquet/json/jsonl/csv, or a hub name",
    convert=_convert,
    read=_read,
    file_images=False,
    options=None,
)

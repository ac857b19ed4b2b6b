"""Load any supported file into :class:`~medzero.data.schema.MCQ` records.

>>> res = load_mcqs("medqa/US_test_4options_phrases.jsonl")        # doctest: +SKIP
>>> res.format, len(res.records), len(res.errors)                    # doctest: +SKIP
('medqa', 1273, 0)

Formats are registered by name in :data:`FORMATS` (lazily: a format module is imported the
first time it is used). ``fmt="auto"`` detects the format from the content
(:func:`medzero.data.detect.detect_format`). Loading never drops a record silently: a malformed
record (missing field, wrong type, empty option, answer not among the options, duplicate id,
missing or undecodable image) is skipped and its :class:`~medzero.errors.DataError` — naming file, line/index and field — is
kept in :attr:`LoadResult.errors`; ``strict=True`` raises the first one instead. Records left out
on purpose by an option (``medical_only``, ``official_only``) are counted in
:attr:`LoadResult.filtered`.

Records of file formats may carry an ``images`` field (file names relative to the data file, see
:mod:`medzero.data.images`); each image is resolved and checked once, when the file is loaded.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from medzero.data.formats.base import Format, RecordContext
from medzero.data.images import (
    ImageError,
    ImageInfo,
    check_image,
    image_summary,
    raw_image_list,
    resolve_images,
)
from medzero.data.schema import MCQ
from medzero.errors import ConfigError, DataError
from medzero.registry import Registry

FORMATS: Registry[Format] = Registry("data format")
for _name, _target in {
    "medzero": "medzero.data.formats.canonical:MEDZERO",
    "prepared": "medzero.data.formats.canonical:PREPARED",
    "medqa": "medzero.data.formats.medqa:MEDQA",
    "medmcqa": "medzero.data.formats.medmcqa:MEDMCQA",
    "medmcqa_xpert": "medzero.data.formats.medmcqa:MEDMCQA_XPERT",
    "pubmedqa": "medzero.data.formats.pubmedqa:PUBMEDQA",
    "pubmedqa_test": "medzero.data.formats.pubmedqa:PUBMEDQA_TEST",
    "mmlu_pro": "medzero.data.formats.mmlu_pro:MMLU_PRO",
    "medxpertqa": "medzero.data.formats.medxpertqa:MEDXPERTQA",
    "medxpertqa_mm": "medzero.data.formats.medxpertqa:MEDXPERTQA_MM",
    "huatuo_eval": "medzero.data.formats.huatuo:HUATUO_EVAL",
    "hf": "medzero.data.formats.hf:HF",
}.items():
    FORMATS.register(_name, _target)

SAMPLE_RESOURCE = "sample_mcq.jsonl"


@dataclass
class LoadResult:
    """What :func:`load_mcqs` read from one file."""

    path: str = field(metadata={"help": "The file, folder or dataset name that was loaded."})
    format: str = field(metadata={"help": "The format used (detected when fmt='auto')."})
    records: list[MCQ] = field(default_factory=list, metadata={"help": "Valid records in file order."})
    errors: list[DataError] = field(
        default_factory=list, metadata={"help": "One error per skipped record (file, line/index, field)."}
    )
    filtered: int = field(default=0, metadata={"help": "Records left out on purpose by a loader option."})
    image_info: dict[str, ImageInfo] = field(
        default_factory=dict,
        metadata={"help": "Absolute path -> size and format of each image that decoded."},
    )

    def image_errors(self) -> list[ImageError]:
        """The skipped records' image problems (missing or undecodable files)."""
        return [e for e in self.errors if isinstance(e, ImageError)]

    def refuse_errors(self, skip_hint: str) -> None:
        """Raise a :class:`DataError` listing the malformed records (count and the first three),
        for commands where a silently smaller file would give wrong numbers. ``skip_hint`` says how
        to go on without them (e.g. ``"pass --skip-bad"``)."""
        if not self.errors:
            return
        first = "; ".join(str(e) for e in self.errors[:3])
        more = f" (and {len(self.errors) - 3} more)" if len(self.errors) > 3 else ""
        raise DataError(
            self.path,
            None,
            None,
            f"{len(self.errors)} malformed record(s): {first}{more}. Fix them, or {skip_hint} to go on "
            f"with the {len(self.records)} valid ones",
        )

    def sources(self) -> dict[str, int]:
        """Record count per source, in order of first appearance."""
        return dict(Counter(m.source for m in self.records))

    def summary(self) -> dict[str, Any]:
        """The ``medzero data inspect --json`` object."""
        answers = Counter(m.answer for m in self.records)
        return {
            "path": self.path,
            "format": self.format,
            "records": len(self.records),
            "errors": len(self.errors),
            "filtered": self.filtered,
            "sources": self.sources(),
            "answers": {k: answers[k] for k in sorted(answers)},
            "options": dict(sorted(Counter(len(m.options) for m in self.records).items())),
            "first_errors": [str(e) for e in self.errors[:10]],
            "images": self._image_block(),
        }

    def _image_block(self) -> dict[str, Any]:
        with_images = [m for m in self.records if m.images]
        block = image_summary(self.image_info, sum(len(m.images) for m in with_images), len(with_images))
        problems = self.image_errors()
        block["missing"] = [str(e) for e in problems if e.kind == "missing"]
        block["unreadable"] = [str(e) for e in problems if e.kind == "unreadable"]
        return block


def load_mcqs(path: str | Path, fmt: str = "auto", *, strict: bool = False, **options: Any) -> LoadResult:
    """Read ``path`` in format ``fmt`` (a :data:`FORMATS` name or ``"auto"``).

    Args:
        path: a file, a folder (``save_to_disk`` dataset or ``medzero data prepare`` output) or,
            with ``fmt="hf"``, a hub dataset name.
        fmt: format name, or ``"auto"`` to detect it from the content.
        strict: raise the first malformed record's :class:`DataError` instead of collecting it.
        **options: format options (e.g. ``cop_base=1`` for MedMCQA, ``medical_only=True`` for
            MMLU-Pro, ``keys=[...]`` for eval_data.json); an option the format does not know is a
            :class:`ConfigError`.
    """
    path = Path(path)
    if fmt == "auto":
        from medzero.data.detect import detect_format

        fmt = detect_format(path)
    spec = FORMATS.get(fmt)
    if not path.exists() and fmt != "hf":
        raise DataError(path, None, None, "no such file or directory")
    options = {k: v for k, v in options.items() if v is not None}
    if spec.options is not None:
        unknown = sorted(set(options) - set(spec.options))
        if unknown:
            known = ", ".join(spec.options) or "none"
            raise ConfigError(f'format "{fmt}" has no option(s) {unknown}; its options: {known}')
    result = LoadResult(path=str(path), format=fmt)
    try:
        _collect(spec, path, options, strict, result)
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(path, None, None, f"cannot read: {exc}") from None
    return result


def _collect(spec: Format, path: Path, options: dict[str, Any], strict: bool, result: LoadResult) -> None:
    """Convert, validate and de-duplicate every raw record of ``spec.read`` into ``result``."""
    first_seen: dict[str, int | None] = {}
    for loc, index, raw in spec.read(path, options):
        try:
            mcq = spec.convert(raw, RecordContext(path, loc, index, options))
            if mcq is None:
                result.filtered += 1
                continue
            if spec.file_images and isinstance(raw, dict) and not mcq.images:
                names = raw_image_list(raw, path, loc)
                mcq.images = resolve_images(names, path, loc, options.get("image_dir"))
            mcq.validate(str(path), loc)
            _check_images(mcq, path, loc, result.image_info)
            if mcq.id in first_seen:
                raise DataError(path, loc, "id", f"duplicate id {mcq.id!r} (first at {first_seen[mcq.id]})")
        except DataError as err:
            if strict:
                raise
            result.errors.append(err)
            continue
        first_seen[mcq.id] = loc
        result.records.append(mcq)


def _check_images(mcq: MCQ, path: Path, loc: int | None, seen: dict[str, ImageInfo]) -> None:
    """Decode each image of ``mcq`` once per load (``seen`` caches the result per path)."""
    for i, image in enumerate(mcq.images):
        if image in seen:
            continue
        try:
            seen[image] = check_image(image)
        except ValueError as exc:
            raise ImageError(path, loc, i, image, "unreadable", str(exc)) from None


def sample_questions() -> list[MCQ]:
    """The ~60 self-written sample questions bundled with medzero (source ``"sample"``)."""
    with resources.as_file(resources.files("medzero") / "resources" / SAMPLE_RESOURCE) as path:
        return load_mcqs(path, "medzero", strict=True).records

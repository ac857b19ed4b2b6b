"""Build a training mix reproducibly and write it with a manifest.

:func:`build_mix` loads each :class:`~medzero.data.mixes.MixEntry`, removes duplicate questions
(same normalised stem and options, first occurrence kept; each dropped id is recorded with the
id it duplicates), splits off the held-out part of sources with a
``pool_frac``, and samples without replacement — every random step from its own
``random.Random`` seeded with ``(seed, source, step)``, so changing one source's count never
changes another source's draw. :func:`prepare_from_mcqs` writes any train/held-out lists:

* ``DIR/train.jsonl`` — rows from :func:`medzero.data.rows.mcq_to_row` (with prompts);
* ``DIR/heldout.jsonl`` — held-out questions in the canonical ``medzero`` JSONL;
* ``DIR/dataset/`` — the same rows as a ``datasets`` dataset (``save_to_disk``);

Image paths in all three are relative to ``DIR`` (so the folder can be moved together with the
images; :func:`prepared_mcqs` and the loaders resolve them against ``DIR``).
* ``DIR/manifest.json`` — recipe, seed, counts, sha256 of inputs and outputs, version, ids;
  ``dropped_duplicate_ids`` maps ``{source: {dropped id: kept id}}``, so ``--exclude-ids`` also
  leaves out the twins of trained questions.

Same inputs and seed give byte-identical files (the Arrow files included: ``datasets`` writes
them deterministically for the same rows; their hashes are in the manifest).
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from medzero import __version__
from medzero.console import console, quiet_library_progress
from medzero.data.loaders import load_mcqs
from medzero.data.mixes import MixEntry
from medzero.data.prompts import PromptConfig
from medzero.data.rows import mcq_to_row
from medzero.data.schema import MCQ, question_key
from medzero.errors import ConfigError
from medzero.jsonl import read_json, sha256_file, write_json_atomic, write_jsonl

TRAIN_FILE = "train.jsonl"
HELDOUT_FILE = "heldout.jsonl"
DATASET_DIR = "dataset"
MANIFEST_FILE = "manifest.json"


@dataclass
class BuiltMix:
    """The result of :func:`build_mix`, before anything is written."""

    train: list[MCQ] = field(metadata={"help": "Sampled training questions, in training order."})
    heldout: list[MCQ] = field(metadata={"help": "Held-out questions (file order), never trained on."})
    inputs: dict[str, str] = field(metadata={"help": "Input path -> sha256."})
    sources: list[dict[str, Any]] = field(metadata={"help": "Per-entry report (loaded, errors, pool...)."})
    dropped_duplicates: dict[str, dict[str, str]] = field(
        metadata={
            "help": "Per source, each id removed as a duplicate -> the id of the kept question it "
            "duplicates (same normalised stem and options)."
        }
    )


def _rng(seed: int, *parts: str) -> random.Random:
    # A string seed is hashed with SHA-512 by `random`, so streams are stable across processes.
    return random.Random(":".join(["medzero", str(seed), *parts]))


def dedup(mcqs: list[MCQ]) -> tuple[list[MCQ], dict[str, str]]:
    """``(kept, twins)``: the first question of each :func:`~medzero.data.schema.question_key`
    (normalised stem *and* options) is kept; ``twins`` maps each dropped id to the kept id it
    duplicates, so a dropped question can be traced and excluded with its twin."""
    first: dict[str, str] = {}
    kept, twins = [], {}
    for m in mcqs:
        key = question_key(m)
        if key in first:
            twins[m.id] = first[key]
        else:
            first[key] = m.id
            kept.append(m)
    return kept, twins


def split_pool(
    mcqs: list[MCQ], frac: float, seed: int, source: str, stratify: str | None = None
) -> tuple[list[MCQ], list[MCQ]]:
    """A seeded ``round(frac * n)`` training pool and the held-out rest (kept in file order).

    With ``stratify`` (a meta field), each value's share of the pool is its share of the file:
    ``frac`` of each group, rounded so the groups add up to ``round(frac * n)`` (largest
    remainders first), each group shuffled with its own seeded stream."""
    n_pool = round(frac * len(mcqs))
    order = list(range(len(mcqs)))
    _rng(seed, source, "pool").shuffle(order)
    if stratify is not None:
        order = _stratified_order(mcqs, order, n_pool, stratify, source)
    in_pool = set(order[:n_pool])
    pool = [mcqs[i] for i in order[:n_pool]]
    heldout = [m for i, m in enumerate(mcqs) if i not in in_pool]
    return pool, heldout


def _stratified_order(mcqs: list[MCQ], order: list[int], n_pool: int, key: str, source: str) -> list[int]:
    """``order`` rearranged so that its first ``n_pool`` indices hold each ``meta[key]`` value in
    proportion (the shuffled order is kept within each group)."""
    groups: dict[str, list[int]] = {}
    for i in order:
        value = mcqs[i].meta.get(key)
        if value is None:
            raise ConfigError(f"{source} question {mcqs[i].id}: no {key!r} to stratify by")
        groups.setdefault(str(value), []).append(i)
    share = {g: n_pool * len(ix) / len(mcqs) for g, ix in groups.items()}
    take = {g: int(v) for g, v in share.items()}
    by_remainder = sorted(groups, key=lambda g: (-(share[g] - take[g]), g))
    for g in by_remainder[: n_pool - sum(take.values())]:
        take[g] += 1
    head = [i for g in sorted(groups) for i in groups[g][: take[g]]]
    chosen = set(head)
    return head + [i for i in order if i not in chosen]


def sample(pool: list[MCQ], count: int, seed: int, source: str, where: str = "") -> list[MCQ]:
    """``count`` questions without replacement; more than the pool holds is a :class:`ConfigError`."""
    if count > len(pool):
        raise ConfigError(
            f"{where or source}: asked for {count} {source} questions but the pool holds only {len(pool)} "
            "(after removing duplicates and the held-out part); lower the count"
        )
    return _rng(seed, source, "sample").sample(pool, count)


def _load_entry(entry: MixEntry) -> tuple[list[MCQ], dict[str, Any]]:
    result = load_mcqs(entry.path, entry.format, **entry.options)
    wrong = sorted({m.source for m in result.records} - {entry.source})
    if wrong:
        raise ConfigError(
            f"{entry.path}: the mix says source {entry.source!r} but the file holds {wrong} questions"
        )
    if result.errors:
        console.print(
            f"[yellow]warning:[/] {entry.path}: skipped {len(result.errors)} malformed record(s), "
            f"first: {result.errors[0]}"
        )
    return result.records, {
        "loaded": len(result.records),
        "load_errors": len(result.errors),
        "format": result.format,
    }


def build_mix(entries: list[MixEntry], seed: int) -> BuiltMix:
    """Load, de-duplicate, split and sample every entry; the training order is shuffled with ``seed``."""
    sources = [e.source for e in entries]
    if len(set(sources)) != len(sources):
        raise ConfigError(f"each source may appear once in a mix, got {sources}")
    train: list[MCQ] = []
    heldout: list[MCQ] = []
    inputs: dict[str, str] = {}
    report: list[dict[str, Any]] = []
    dropped_ids: dict[str, dict[str, str]] = {}
    for entry in entries:
        records, info = _load_entry(entry)
        inputs[entry.path] = input_digest(Path(entry.path))
        kept, twins = dedup(records)
        if entry.pool_frac is None:
            pool, held = kept, []
        else:
            pool, held = split_pool(kept, entry.pool_frac, seed, entry.source, entry.stratify)
        picked = sample(pool, entry.count, seed, entry.source, where=entry.path)
        train.extend(picked)
        heldout.extend(held)
        dropped_ids[entry.source] = twins
        report.append(
            {
                "source": entry.source,
                "path": entry.path,
                **info,
                "duplicates_removed": len(twins),
                "pool_frac": entry.pool_frac,
                "stratify": entry.stratify,
                "pool": len(pool),
                "heldout": len(held),
                "count": len(picked),
            }
        )
    _rng(seed, "order").shuffle(train)
    return BuiltMix(train, heldout, inputs, report, dropped_ids)


def input_digest(path: Path) -> str:
    """sha256 of a file; for a folder (a ``datasets`` dataset), of its files' names and hashes;
    ``""`` for a hub dataset name."""
    if path.is_file():
        return sha256_file(path)
    if path.is_dir():
        listing = "".join(
            f"{p.relative_to(path).as_posix()}\t{sha256_file(p)}\n"
            for p in sorted(path.rglob("*"))
            if p.is_file()
        )
        return hashlib.sha256(listing.encode()).hexdigest()
    return ""


def _ids_by_source(mcqs: list[MCQ]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for m in mcqs:
        out.setdefault(m.source, []).append(m.id)
    return out


def _save_dataset(rows: list[dict[str, Any]], target: Path) -> None:
    quiet_library_progress()
    import datasets

    if target.exists():
        if not (target / "state.json").is_file():
            raise ConfigError(f"{target} exists and is not a datasets folder; choose another --out")
        shutil.rmtree(target)
    datasets.Dataset.from_list(rows).save_to_disk(str(target))


def prepare_from_mcqs(
    train: list[MCQ],
    heldout: list[MCQ],
    out: str | Path,
    prompt_cfg: PromptConfig | None = None,
    *,
    recipe: str,
    seed: int,
    inputs: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``train``/``heldout`` to ``out`` (see the module docstring) and return the manifest.

    ``inputs`` maps input paths to their sha256; ``extra`` adds keys to the manifest.
    """
    if not train:
        raise ConfigError("the training mix is empty")
    ids = [(m.source, m.id) for m in train + heldout]
    if len(set(ids)) != len(ids):
        dup = next(k for k, n in Counter(ids).items() if n > 1)
        raise ConfigError(f"question {dup[1]!r} of source {dup[0]!r} appears twice in train/held-out")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    prompt_cfg = prompt_cfg or PromptConfig()
    rows = [mcq_to_row(m, prompt_cfg) for m in relative_images(train, out)]
    if any("images" in r for r in rows):  # one column layout for every row of the dataset
        rows = [{**r, "images": r.get("images", [])} for r in rows]
    write_jsonl(out / TRAIN_FILE, rows)
    write_jsonl(out / HELDOUT_FILE, [m.to_dict() for m in relative_images(heldout, out)])
    _save_dataset(rows, out / DATASET_DIR)
    files = [out / TRAIN_FILE, out / HELDOUT_FILE, *sorted((out / DATASET_DIR).rglob("*"))]
    manifest: dict[str, Any] = {
        "recipe": recipe,
        "seed": seed,
        "counts": dict(Counter(m.source for m in train)),
        "heldout_counts": dict(Counter(m.source for m in heldout)),
        "total": len(train),
        "inputs": dict(inputs or {}),
        "outputs": {f.relative_to(out).as_posix(): sha256_file(f) for f in files if f.is_file()},
        "medzero_version": __version__,
        "prompt": asdict(prompt_cfg),
        **(extra or {}),
        "train_ids": _ids_by_source(train),
        "heldout_ids": _ids_by_source(heldout),
    }
    write_json_atomic(out / MANIFEST_FILE, manifest)
    return manifest


def prepare(
    entries: list[MixEntry],
    out: str | Path,
    *,
    recipe: str,
    seed: int,
    prompt_cfg: PromptConfig | None = None,
) -> dict[str, Any]:
    """:func:`build_mix` + :func:`prepare_from_mcqs`; the manifest also lists each source's report."""
    mix = build_mix(entries, seed)
    extra = {"sources": mix.sources, "dropped_duplicate_ids": mix.dropped_duplicates}
    return prepare_from_mcqs(
        mix.train, mix.heldout, out, prompt_cfg, recipe=recipe, seed=seed, inputs=mix.inputs, extra=extra
    )


def relative_images(mcqs: list[MCQ], folder: Path) -> list[MCQ]:
    """``mcqs`` with their image paths written relative to the prepared ``folder`` (POSIX
    separators), so the folder keeps working when it is moved together with its images."""
    base = folder.absolute()
    return [
        replace(m, images=[Path(os.path.relpath(Path(p).absolute(), base)).as_posix() for p in m.images])
        if m.images
        else m
        for m in mcqs
    ]


def prepared_mcqs(path: str | Path) -> list[MCQ]:
    """The training questions of a prepared folder (or rows JSONL file), in order, with image
    paths resolved against the folder (the rows file's folder); a missing image is an error
    naming the row."""
    from medzero.data.images import resolve_images
    from medzero.data.rows import row_to_mcq

    path = Path(path)
    first = 0 if (path / DATASET_DIR).is_dir() else 1  # dataset rows count from 0, file lines from 1
    mcqs = []
    for i, row in enumerate(load_prepared(path), start=first):
        mcq = row_to_mcq(dict(row))
        if mcq.images:
            mcq.images = resolve_images(mcq.images, path, i)
        mcqs.append(mcq)
    return mcqs


def read_manifest(path: str | Path) -> dict[str, Any]:
    """``DIR/manifest.json`` (``path`` may be the folder or the file)."""
    path = Path(path)
    return read_json(path / MANIFEST_FILE if path.is_dir() else path)


def load_prepared(path: str | Path) -> Any:
    """The training rows of a prepared folder as a ``datasets.Dataset`` (``DIR/dataset`` when
    present, else ``DIR/train.jsonl``; ``path`` may also be a rows JSONL file)."""
    import datasets

    from medzero.jsonl import iter_jsonl

    path = Path(path)
    if (path / DATASET_DIR).is_dir():
        return datasets.load_from_disk(str(path / DATASET_DIR))
    rows_file = path / TRAIN_FILE if path.is_dir() else path
    if not rows_file.is_file():
        raise ConfigError(f"{path}: not a prepared folder (no {DATASET_DIR}/ or {TRAIN_FILE})")
    return datasets.Dataset.from_list([row for _, row in iter_jsonl(rows_file)])

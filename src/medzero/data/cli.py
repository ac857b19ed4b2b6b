"""``medzero data``: inspect files, prepare training mixes, check benchmark contamination.

Light to import: the data modules are imported inside the commands (``datasets`` only by
``prepare``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

data_app = typer.Typer(
    name="data",
    help="Medical MCQ files: inspect any format, prepare training mixes, check contamination.",
    no_args_is_help=True,
)

FormatOpt = Annotated[
    str, typer.Option("--format", "-f", help="Input format name (see `medzero data formats`) or 'auto'.")
]
CopBaseOpt = Annotated[
    Optional[int],
    typer.Option(
        "--cop-base", help="MedMCQA original format: 1 if 'cop' counts from 1 (GitHub), 0 (HF copy)."
    ),
]
MedicalOnlyOpt = Annotated[
    bool, typer.Option("--medical-only", help="MMLU-Pro: keep only the health and biology categories.")
]
KeysOpt = Annotated[
    Optional[list[str]],
    typer.Option("--key", help="HuatuoGPT eval_data.json: benchmark key or source to load (repeatable)."),
]
ImageDirOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--image-dir", help="MedXpertQA-MM: folder of the images (default: beside the file, then images/)."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout instead of tables.")]


def _load(
    path: Path,
    fmt: str,
    cop_base: int | None,
    medical_only: bool,
    keys: list[str] | None,
    *,
    only_accepted: bool = False,
    image_dir: Path | None = None,
) -> Any:
    """Load ``path``; with ``only_accepted`` a loader flag is passed only to formats that take it
    (so one flag can serve many files), otherwise an option the format lacks is an error."""
    from medzero.data.detect import detect_format
    from medzero.data.loaders import FORMATS, load_mcqs

    name = detect_format(path) if fmt == "auto" else fmt
    given = {
        "cop_base": cop_base,
        "medical_only": medical_only or None,
        "keys": keys or None,
        "image_dir": image_dir,
    }
    accepted = FORMATS.get(name).options
    options = {
        k: v
        for k, v in given.items()
        if v is not None and (not only_accepted or accepted is None or k in accepted)
    }
    return load_mcqs(path, name, **options)


def _stdout() -> Any:
    from rich.console import Console

    return Console(highlight=False)


@data_app.command("formats")
def formats_cmd() -> None:
    """List the input formats and their options."""
    from rich.table import Table

    from medzero.data.loaders import FORMATS

    table = Table("format", "what it reads", "options")
    for name, fmt in FORMATS.items():
        table.add_row(name, fmt.help, ", ".join(fmt.options) if fmt.options is not None else "(row format's)")
    _stdout().print(table)


@data_app.command("inspect")
def inspect_cmd(
    path: Annotated[Path, typer.Argument(help="File, save_to_disk folder or prepared folder.")],
    fmt: FormatOpt = "auto",
    as_json: JsonOpt = False,
    cop_base: CopBaseOpt = None,
    medical_only: MedicalOnlyOpt = False,
    keys: KeysOpt = None,
    image_dir: ImageDirOpt = None,
) -> None:
    """Detect the format, count records, sources, answer letters, malformed records and images
    (count, distinct files, sizes, missing or undecodable files).

    Exit status 0 even when some records are malformed (they are listed); 2 when the file cannot be
    read or classified, or when an image is missing or does not decode (after the report, the
    first such image is named with file and line).
    """
    result = _load(path, fmt, cop_base, medical_only, keys, image_dir=image_dir)
    summary = result.summary()
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))
        _refuse_image_errors(result)
        return
    from rich.table import Table

    out = _stdout()
    table = Table("path", "format", "records", "errors", "filtered", title="medzero data inspect")
    table.add_row(
        summary["path"], summary["format"], *(str(summary[k]) for k in ("records", "errors", "filtered"))
    )
    out.print(table)
    sources = Table("source", "records")
    for name, n in summary["sources"].items():
        sources.add_row(name, str(n))
    out.print(sources)
    out.print("answers: " + ", ".join(f"{k} {v}" for k, v in summary["answers"].items()))
    out.print("options per question: " + ", ".join(f"{k}: {v}" for k, v in summary["options"].items()))
    for err in result.errors[:5]:
        out.print(f"[red]skipped[/] {err}")
    if len(result.errors) > 5:
        out.print(f"... and {len(result.errors) - 5} more malformed records (see --json)")
    images = summary["images"]
    if images["count"] or images["missing"] or images["unreadable"]:
        sizes = (
            f"{images['width']['min']}-{images['width']['max']} x "
            f"{images['height']['min']}-{images['height']['max']} px"
            if images["width"]
            else "-"
        )
        out.print(
            f"images: {images['count']} in {images['records_with_images']} records, "
            f"{images['unique']} files, {images['bytes']} bytes, {sizes}; "
            f"missing {len(images['missing'])}, unreadable {len(images['unreadable'])}"
        )
    _refuse_image_errors(result)


def _refuse_image_errors(result: Any) -> None:
    """Exit 2 naming the first missing or undecodable image (a located :class:`DataError`)."""
    problems = result.image_errors()
    if problems:
        from medzero.errors import DataError

        more = f" ({len(problems)} image problems in all)" if len(problems) > 1 else ""
        first = problems[0]
        raise DataError(first.path, first.line, first.field, first.message + more)


@data_app.command("prepare")
def prepare_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    recipe: Annotated[
        Optional[str],
        typer.Option("--recipe", help="dataset1 (1090 MedQA), dataset2 (600+490), dataset3 (490)."),
    ] = None,
    mix: Annotated[
        Optional[Path], typer.Option("--mix", help="Custom mix YAML: a list of {source, path, count}.")
    ] = None,
    medqa_train: Annotated[
        Optional[Path], typer.Option("--medqa-train", help="MedQA-USMLE train JSONL.")
    ] = None,
    medxpertqa: Annotated[
        Optional[Path], typer.Option("--medxpertqa", help="MedXpertQA Text test file.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every sampling step.")] = 42,
    n_medqa: Annotated[Optional[int], typer.Option("--n-medqa", help="Override the MedQA count.")] = None,
    n_medxpertqa: Annotated[
        Optional[int], typer.Option("--n-medxpertqa", help="Override the MedXpertQA count.")
    ] = None,
    pool_frac: Annotated[
        float,
        typer.Option(
            "--pool-frac", help="Share of MedXpertQA used as the training pool; the rest is held out."
        ),
    ] = 0.2,
    stratify: Annotated[
        Optional[str],
        typer.Option(
            "--stratify",
            help="Meta field that keeps its proportions in the MedXpertQA training pool; "
            "'question_type' is the seed's stratified split. Default: a plain seeded split.",
        ),
    ] = None,
    template: Annotated[
        str, typer.Option("--template", help="Prompt template: r1zero, r1zero-short, plain or seed.")
    ] = "r1zero",
    system_prompt: Annotated[
        Optional[str], typer.Option("--system-prompt", help="Override the template's system prompt.")
    ] = None,
    instruction: Annotated[
        Optional[str], typer.Option("--instruction", help="Override the line after the options.")
    ] = None,
    option_format: Annotated[
        str, typer.Option("--option-format", help="One option line; fields {letter} and {text}.")
    ] = "({letter}) {text}",
    system_role: Annotated[
        str, typer.Option("--system-role", help="'user' merges the system prompt into the user turn.")
    ] = "system",
) -> None:
    """Build a training mix reproducibly: train.jsonl, heldout.jsonl, dataset/ and manifest.json."""
    from medzero.data.mixes import load_mix, recipe_mix
    from medzero.data.prepare import prepare
    from medzero.data.prompts import PromptConfig
    from medzero.errors import ConfigError

    if (recipe is None) == (mix is None):
        raise ConfigError("pass exactly one of --recipe dataset1|dataset2|dataset3 or --mix FILE.yaml")
    if system_role not in ("system", "user"):
        raise ConfigError(f"--system-role must be 'system' or 'user', got {system_role!r}")
    if mix is not None:
        if stratify is not None:
            raise ConfigError("--stratify is for --recipe; a --mix file sets stratify per entry")
        entries = load_mix(mix)
        name = f"mix:{mix.name}"
    else:
        entries = recipe_mix(
            recipe,
            medqa_train=medqa_train,
            medxpertqa=medxpertqa,
            n_medqa=n_medqa,
            n_medxpertqa=n_medxpertqa,
            pool_frac=pool_frac,
            stratify=stratify,
        )
        name = recipe
    cfg = PromptConfig(
        template=template,
        system_prompt=system_prompt,
        instruction=instruction,
        option_format=option_format,
        system_role=system_role,  # type: ignore[arg-type]
    )
    cfg.resolved()  # unknown template names fail here, before any file is read
    from medzero.outdir import ensure_dir

    manifest = prepare(entries, ensure_dir(out), recipe=name, seed=seed, prompt_cfg=cfg)
    from rich.table import Table

    table = Table(
        "source", "file", "loaded", "duplicates", "pool", "held out", "trained", title=f"{name} -> {out}"
    )
    for s in manifest["sources"]:
        table.add_row(
            s["source"],
            s["path"],
            *(str(s[k]) for k in ("loaded", "duplicates_removed", "pool", "heldout", "count")),
        )
    _stdout().print(table)


@data_app.command("overlap")
def overlap_cmd(
    train: Annotated[Path, typer.Argument(help="Training set: a file or a prepared folder.")],
    evals: Annotated[list[Path], typer.Argument(help="Benchmark files.")],
    n: Annotated[int, typer.Option("--n", help="Words per n-gram.")] = 8,
    threshold: Annotated[
        float,
        typer.Option("--threshold", help="Near-duplicate when this share of n-grams is in one train item."),
    ] = 0.5,
    as_json: JsonOpt = False,
    show: Annotated[int, typer.Option("--show", help="Matches listed per benchmark (tables only).")] = 5,
    skip_bad: Annotated[
        bool,
        typer.Option(
            "--skip-bad",
            help="Go on without malformed records (counted and listed); default: refuse, since a "
            "skipped record can hide a contaminated question.",
        ),
    ] = False,
    cop_base: CopBaseOpt = None,
    medical_only: MedicalOnlyOpt = False,
    keys: KeysOpt = None,
) -> None:
    """Exact and near-duplicate questions shared by a training set and each benchmark (per source),
    and benchmark questions showing an image file identical (sha1) to a training question's.

    Exit status 2 when a file holds malformed records, unless --skip-bad (then they are counted in
    "skipped" and listed)."""
    from medzero.data.overlap import OverlapIndex, overlap_report
    from medzero.errors import ConfigError

    if n < 1:
        raise ConfigError(f"--n must be >= 1 (words per n-gram), got {n}")
    if not 0 < threshold <= 1:
        raise ConfigError(f"--threshold is a share of n-grams, 0 < t <= 1; got {threshold}")
    loaded = [_load(train, "auto", cop_base, medical_only, keys, only_accepted=True)]
    loaded += [_load(p, "auto", cop_base, medical_only, keys, only_accepted=True) for p in evals]
    skipped = {res.path: len(res.errors) for res in loaded}
    for res in loaded:
        if not skip_bad:
            res.refuse_errors("pass --skip-bad")
        for err in res.errors[:5]:
            typer.echo(f"warning: skipped {err}", err=True)
    train_records = loaded[0].records
    index = OverlapIndex(train_records, n=n)
    reports = []
    for path, result in zip(evals, loaded[1:], strict=True):
        by_source: dict[str, list[Any]] = {}
        for m in result.records:
            by_source.setdefault(m.source, []).append(m)
        for source, questions in by_source.items():
            name = f"{path.name}:{source}" if len(by_source) > 1 else path.name
            reports.append(
                {"path": str(path), "source": source, **overlap_report(index, name, questions, threshold)}
            )
        if not by_source:
            reports.append(
                {"path": str(path), "source": None, **overlap_report(index, path.name, [], threshold)}
            )
        reports[-1]["skipped"] = skipped[result.path]  # malformed records, once per file
    if as_json:
        payload = {
            "train": str(train),
            "train_records": len(train_records),
            "train_skipped": skipped[loaded[0].path],
            "n": n,
            "threshold": threshold,
        }
        typer.echo(json.dumps({**payload, "benchmarks": reports}, ensure_ascii=False))
        return
    from rich.table import Table

    title = f"overlap with {train}" + (f" ({skipped[loaded[0].path]} malformed skipped)" if skip_bad else "")
    table = Table("benchmark", "records", "skipped", "exact", "image", "near", "contaminated", title=title)
    for r in reports:
        table.add_row(
            r["benchmark"],
            str(r["records"]),
            str(r.get("skipped", "")),
            str(r["exact"]),
            str(r["image"]),
            str(r["near"]),
            f"{r['contaminated_frac']:.1%}",
        )
    out = _stdout()
    out.print(table)
    for r in reports:
        for m in r["matches"][:show]:
            out.print(
                f"{r['benchmark']}: {m['eval_id']} ~ train {m['train_id']} ({m['kind']}, {m['score']:.2f})"
            )


def register(app: typer.Typer) -> None:
    """Add ``medzero data`` to the root app."""
    app.add_typer(data_app, name="data")

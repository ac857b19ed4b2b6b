"""``medzero analyze``: reward vs. length, reflection phrases, answer flips and an HTML report.

Light at import (typer only); the analysis modules (numpy, scipy, matplotlib) load when the
command runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def analyze(
    run: Annotated[
        Path,
        typer.Argument(
            help="RUN_DIR written by `medzero train`, or TRL curves only: a W&B CSV export, a TensorBoard "
            "event directory or a metrics.jsonl.",
            show_default=False,
            metavar="RUN_DIR",
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            metavar="REPORT_DIR",
            help="REPORT_DIR for report.html, report.md, stats.json, PNGs.",
        ),
    ],
    eval_dirs: Annotated[
        list[Path] | None,
        typer.Option("--eval", metavar="OUT", help="A `medzero eval` output directory (repeatable)."),
    ] = None,
    lexicon: Annotated[
        Path | None,
        typer.Option(
            "--lexicon",
            metavar="FILE",
            help="Reflection phrases, one per line (# comments); default: built-in list.",
        ),
    ] = None,
    final_mode: Annotated[
        str,
        typer.Option("--final-mode", help="Extraction mode of the final answer: strict, last or lenient."),
    ] = "strict",
    letters: Annotated[
        str | None,
        typer.Option("--letters", help="Option letters, e.g. ABCDE (default: A..highest gold letter)."),
    ] = None,
    no_flips: Annotated[
        bool,
        typer.Option("--no-flips", help="Skip answer-flip analysis (saves one extraction per completion)."),
    ] = False,
    think_preopened: Annotated[
        Optional[bool],
        typer.Option(
            "--think-preopened/--no-think-preopened",
            help="Completions start inside <think> (the prompt opened it); default: what RUN_DIR/run_info.json says.",
        ),
    ] = None,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Write the report without PNG plots.")] = False,
) -> None:
    """Analyse a training run: reward vs. length, "aha" phrases, answer flips, plots and an HTML report.

    Prints a JSON summary (paths and headline numbers) on stdout.
    """
    import json

    from medzero.analyze.pipeline import AnalyzeConfig, analyze_run, headline
    from medzero.analyze.reflection import load_lexicon
    from medzero.console import console
    from medzero.errors import DataError
    from medzero.outdir import ensure_dir

    ensure_dir(out)
    if letters is not None and (
        not letters or not letters.isascii() or not letters.isupper() or len(set(letters)) != len(letters)
        or not letters.isalpha()
    ):  # fmt: skip
        from medzero.errors import ConfigError

        raise ConfigError(f"--letters: expected distinct capital letters such as ABCDE, got {letters!r}")
    if think_preopened is None:
        info = run / "run_info.json" if run.is_dir() else None
        think_preopened = bool(
            info is not None
            and info.is_file()
            and json.loads(info.read_text(encoding="utf-8")).get("think_preopened")
        )
    cfg = AnalyzeConfig(
        final_mode=final_mode, option_letters=letters, flips=not no_flips, think_preopened=think_preopened
    )
    lex = load_lexicon(lexicon) if lexicon else None
    with console.status("analysing run"):
        stats = analyze_run(run, eval_dirs or [], out, cfg, lex, plots=not no_plots)
    for issue in stats["issues"]:
        console.print(f"[yellow]warning:[/] {issue}", markup=True, highlight=False)
    console.print(f"report: {out / 'report.html'}")
    typer.echo(json.dumps(headline(stats, out)))
    if not stats["source"]["metric_steps"] and not stats["source"]["completions"] and not stats["eval"]:
        raise DataError(
            run, None, None, f"nothing to analyse (partial report with the problems written to {out})"
        )


def register(app: typer.Typer) -> None:
    """Add ``medzero analyze`` to the root app."""
    app.command("analyze")(analyze)

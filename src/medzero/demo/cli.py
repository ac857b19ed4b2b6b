"""``medzero demo``: the whole pipeline on the tiny local model (light to import; the demo's
stages load torch/transformers/trl when it runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def demo(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("demo-out"),
    steps: Annotated[
        int | None,
        typer.Option(
            "--steps",
            help="Most GRPO steps (default 300; the run ends early at 100% validation; --quick: 30).",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seeds data, model, warm-up and GRPO.")] = 0,
    quick: Annotated[
        bool, typer.Option("--quick", help="A smaller run for CI (pipeline check; learning not guaranteed).")
    ] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Folder of real benchmarks (e.g. ../shared/data): also score a 20-question slice of "
            "each before/after, as random-level sanity only.",
        ),
    ] = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option("--cache-dir", help="Tiny-model cache (default $MEDZERO_CACHE or ~/.cache/medzero)."),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an earlier demo run in --out instead of refusing.")
    ] = False,
    task: Annotated[
        str,
        typer.Option(
            "--task",
            help="text: the synthetic drug-class task (tiny model); vision: synthetic scans whose "
            "answer is only in the picture (tiny VLM, medzero.demo.vision; --steps, --seed, --quick apply); "
            "search: learn to look up an invented drug's class with the search tool (medzero.demo.search, "
            "3 seeds from --seed; --quick: 1; see docs/tools.md).",
        ),
    ] = "text",
    scan_task: Annotated[
        str | None,
        typer.Option(
            "--scan-task",
            help="--task vision only: what the synthetic scans ask, colour (default: the lesion's colour) "
            "or region (its quadrant; the tiny VLM does not learn it, docs/multimodal.md).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run data -> warm-up + GRPO -> eval -> analysis end to end on a tiny local model (CPU, minutes).

    Prints the before/after table and writes OUT/report.html; OUT/demo.json (also on stdout)
    holds every score, path and timing.
    """
    import json

    if task not in ("text", "vision", "search"):
        from medzero.errors import ConfigError

        raise ConfigError(f"--task must be text, vision or search, got {task!r}")
    if scan_task is not None and task != "vision":
        from medzero.errors import ConfigError

        raise ConfigError("--scan-task is for --task vision")
    if task == "search":
        from medzero.demo.search import SearchDemoConfig, run_search_demo
        from medzero.outdir import output_lock

        with output_lock(out, "demo"):
            result = run_search_demo(SearchDemoConfig.make(out, seed, steps, quick, cache_dir))
        typer.echo(json.dumps({"heldout": result["heldout"]}))
        return
    if task == "vision":
        if data_dir is not None or cache_dir is not None:
            from medzero.errors import ConfigError

            raise ConfigError("--data-dir and --cache-dir are for the text demo; --task vision takes neither")
        from medzero.demo.vision import VisionDemoConfig, run_vision_demo
        from medzero.outdir import output_lock

        vcfg = VisionDemoConfig(
            out=out, seed=seed, quick=quick, steps=steps, overwrite=overwrite, scan_task=scan_task or "colour"
        )
        with output_lock(out, "demo"):
            result = run_vision_demo(vcfg)
        typer.echo(json.dumps({"heldout": result["heldout"], "paths": result["paths"]}))
        return

    from medzero.demo.run import DemoConfig, run_demo
    from medzero.outdir import output_lock

    cfg = DemoConfig(
        out=out,
        steps=steps,
        seed=seed,
        quick=quick,
        data_dir=data_dir,
        cache_dir=cache_dir,
        overwrite=overwrite,
    )
    with output_lock(out, "demo"):  # one demo per folder at a time
        res = run_demo(cfg)
    typer.echo(json.dumps({"learned": res.learned, "paths": res.paths, "timings": res.timings}))


def register(app: typer.Typer) -> None:
    """Add ``medzero demo`` to the root app."""
    app.command("demo")(demo)

"""``medzero data grade``: added to the ``data`` group (light: the grader is imported when it runs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from medzero.evaluate import options as opt

_MODEL = opt.MODEL_PANEL
_GEN = opt.GEN_PANEL
_BINS = "Bins"


def grade_cmd(
    dataset: Annotated[Path, typer.Argument(help="Question file (any loader format) or a prepared folder.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (resumable).")],
    model: Annotated[
        str, typer.Option(help="Model dir / hub id, or served model name (openai).", rich_help_panel=_MODEL)
    ] = "",
    gguf_file: opt.GGUFFile = None,
    k: Annotated[int, typer.Option("--k", help="Sampled answers per question.", rich_help_panel=_GEN)] = 8,
    backend: opt.Backend = "hf",
    adapter: opt.Adapter = None,
    base_url: opt.BaseUrl = None,
    device: opt.Device = None,
    dtype: opt.Dtype = "auto",
    batch_size: opt.BatchSize = 16,
    temperature: opt.Temperature = 1.0,
    max_new_tokens: opt.MaxNewTokens = 1024,
    seed: opt.Seed = 0,
    template: opt.Template = "r1zero",
    prompt_from: Annotated[
        Optional[Path],
        typer.Option(
            "--prompt-from",
            help="A training recipe (or a run folder): use its whole prompt configuration "
            "(data.prompt: template, system role, ...) instead of --template.",
            rich_help_panel=_GEN,
        ),
    ] = None,
    mode: Annotated[
        str, typer.Option(help="Extraction mode scored as correct.", rich_help_panel=_GEN)
    ] = "strict",
    limit: Annotated[Optional[int], typer.Option(help="Grade only the first N questions.")] = None,
    easy_min: Annotated[float, typer.Option(help="Pass rate >= this: easy.", rich_help_panel=_BINS)] = 0.75,
    medium_min: Annotated[
        float,
        typer.Option(help="Pass rate >= this: medium (below: hard; 0: unsolved).", rich_help_panel=_BINS),
    ] = 0.25,
) -> None:
    """Sample K answers per question through the eval engine; write pass rates and difficulty bins."""
    from medzero.curriculum.bins import BinThresholds
    from medzero.curriculum.grade import GradeConfig, grade

    prompt = None
    if prompt_from is not None:
        from medzero.evaluate.fromrun import recipe_prompt

        prompt = recipe_prompt(prompt_from)
    if not model and not gguf_file:
        raise typer.BadParameter("--model (or --gguf-file) is required")
    cfg = GradeConfig(
        prompt=prompt,
        dataset=str(dataset),
        model=model,
        out=str(out),
        k=k,
        backend=backend,  # type: ignore[arg-type]
        temperature=temperature,
        max_new_tokens=max_new_tokens,
        seed=seed,
        mode=mode,  # type: ignore[arg-type]
        template=template,  # type: ignore[arg-type]
        thresholds=BinThresholds(easy_min=easy_min, medium_min=medium_min),
        limit=limit,
        adapter=adapter,
        gguf_file=gguf_file,
        batch_size=batch_size,
        base_url=base_url,
        device=device,
        dtype=dtype,  # type: ignore[arg-type]
    )
    manifest = grade(cfg)
    typer.echo(json.dumps(manifest["grade"], indent=2))


def register(app: typer.Typer) -> None:
    """Add ``grade`` to the ``medzero data`` group."""
    from medzero.data.cli import data_app

    data_app.command("grade")(grade_cmd)

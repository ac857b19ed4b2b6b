"""``medzero model``: build the local models (light to import; the builder loads torch when it runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the ``model`` command group to the root app."""
    model_app = typer.Typer(help="Build local models (no download).", no_args_is_help=True)

    @model_app.command("tiny")
    def tiny(
        out: Annotated[Path, typer.Option("--out", help="Folder to write the model and tokenizer to.")],
        seed: Annotated[int, typer.Option(help="Seed for the tokenizer corpus and the weights.")] = 0,
        preset: Annotated[
            str, typer.Option(help="Model size: tiny (~0.6M parameters) or small-100m (~100M, for GPUs).")
        ] = "tiny",
    ) -> None:
        """Build the tiny tokenizer + randomly initialised Llama model into OUT (save_pretrained)."""
        from medzero.console import console
        from medzero.models.tiny import PRESETS, build_tiny_model
        from medzero.outdir import ensure_dir

        path = build_tiny_model(ensure_dir(out), seed=seed, config=PRESETS.get(preset))
        console.print(f"tiny model ({preset}, seed {seed}) written to [bold]{path}[/]")
        typer.echo(str(path))

    app.add_typer(model_app, name="model")

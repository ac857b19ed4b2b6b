"""The ``medzero`` command line.

Start-up stays fast: this module and the per-stage ``cli`` modules it loads import only typer,
rich and the standard library; each command imports its stage (torch, transformers, trl) when it
runs. User errors (:class:`~medzero.errors.MedzeroError`) are printed without a traceback and
exit with status 2.
"""

from __future__ import annotations

import importlib
import sys

import typer

from medzero import __version__

# Each module exposes ``register(app: typer.Typer) -> None`` and is light to import.
STAGE_CLIS = (
    "medzero.data.cli",
    "medzero.extract_cli",
    "medzero.models.cli",
    "medzero.train.cli",
    "medzero.evaluate.cli",
    "medzero.analyze.cli",
    "medzero.curriculum.cli",
    "medzero.demo_cli",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"medzero {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="medzero",
        help=(
            "Medical R1-Zero: GRPO with verifiable rewards on medical multiple-choice questions.\n\n"
            "Pipeline: data -> train -> eval -> analyze. `medzero demo` runs it all on a tiny local model."
        ),
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
        rich_markup_mode="rich",
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Print the version."
        ),
    ) -> None:
        """Medical R1-Zero toolkit."""

    for mod in STAGE_CLIS:
        importlib.import_module(mod).register(app)
    return app


def main(argv: list[str] | None = None) -> None:
    from medzero.errors import MedzeroError

    app = build_app()
    try:
        app(args=argv, prog_name="medzero")
    except MedzeroError as exc:
        from medzero.console import console

        console.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()

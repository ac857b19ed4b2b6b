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

#: Registries shown by ``medzero list``: name -> "module:attribute" (imported only when listed).
REGISTRIES = {
    "rewards": "medzero.rewards:REWARDS",
    "reward-presets": "medzero.rewards:PRESETS",
    "benchmarks": "medzero.evaluate.benchmarks:BENCHMARKS",
    "backends": "medzero.evaluate.backends:BACKENDS",
    "formats": "medzero.data.loaders:FORMATS",
    "templates": "medzero.data.prompts:TEMPLATES",
    "tiny-presets": "medzero.models.tiny:PRESETS",
    "corpus-readers": "medzero.tools.documents:READERS",
}

# Each module exposes ``register(app: typer.Typer) -> None`` and is light to import.
STAGE_CLIS = (
    "medzero.data.cli",
    "medzero.extract.cli",
    "medzero.models.cli",
    "medzero.train.cli",
    "medzero.evaluate.cli",
    "medzero.analyze.cli",
    "medzero.curriculum.cli",
    "medzero.tools.cli",
    "medzero.demo.cli",
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
        from medzero.console import quiet_library_progress

        quiet_library_progress()  # before any command imports transformers / datasets

    @app.command("list")
    def _list(
        kind: str = typer.Argument("all", help=f"One of: all, {', '.join(REGISTRIES)}."),
    ) -> None:
        """List what is registered by name: rewards, reward presets, benchmarks, backends, data formats, prompt templates."""
        from medzero.errors import ConfigError
        from medzero.registry import did_you_mean

        kinds = list(REGISTRIES) if kind == "all" else [kind]
        for k in kinds:
            if k not in REGISTRIES:
                raise ConfigError(
                    f'unknown kind "{k}".{did_you_mean(k, list(REGISTRIES))} Available: {", ".join(REGISTRIES)}'
                )
            mod, attr = REGISTRIES[k].split(":")
            registry = getattr(importlib.import_module(mod), attr)
            typer.echo(f"{k}: {', '.join(registry.names())}")

    for mod in STAGE_CLIS:
        importlib.import_module(mod).register(app)
    return app


def main(argv: list[str] | None = None) -> None:
    from medzero.errors import MedzeroError

    app = build_app()
    try:
        app(args=argv, prog_name="medzero")
    except MedzeroError as exc:
        from rich.markup import escape

        from medzero.console import console

        # the message may quote user text such as "[unclosed": never read it as rich markup
        console.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, highlight=False)
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()

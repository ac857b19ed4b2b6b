"""``medzero eval``: score a model on the medical benchmarks; ``medzero eval compare A B``.

Light to import: the runner (numpy, the loaders) and the backends (torch, transformers, vLLM)
are imported inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from medzero.evaluate import options as opt

_SEED_SIX = "medmcqa,medqa,pubmedqa,mmlu_pro_med,gpqa_med,medxpertqa"
_MODEL = opt.MODEL_PANEL
_DATA = "Data"
_GEN = opt.GEN_PANEL
_TOOLS = "Tools"


def _check_cuda(device: str) -> None:
    """``--device cuda[:N]`` needs that GPU (checked before any model loads)."""
    import torch

    from medzero.errors import ConfigError

    index = int(device.split(":", 1)[1]) if ":" in device else 0
    if not torch.cuda.is_available():
        raise ConfigError(f"--device {device}: no CUDA GPU is available here; use --device cpu")
    if index >= torch.cuda.device_count():
        raise ConfigError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) here")


def register(app: typer.Typer) -> None:
    """Add the ``eval`` group (runs an evaluation by default; ``compare`` and ``benchmarks``)."""
    eval_app = typer.Typer(
        help="Score a model on the medical benchmarks (resumable, strict/last/lenient, 95% CIs).",
        invoke_without_command=True,
        no_args_is_help=False,
    )

    @eval_app.callback()
    def run(
        ctx: typer.Context,
        model: Annotated[
            Optional[str],
            typer.Option(
                help="Model dir / hub id (hf, vllm) or served model name (openai).", rich_help_panel=_MODEL
            ),
        ] = None,
        out: Annotated[Optional[Path], typer.Option(help="Output directory (resumable).")] = None,
        run_dir: Annotated[
            Optional[Path],
            typer.Option(
                "--run",
                help="A `medzero train` run folder: evaluate its model with its prompt configuration "
                "(template, system role, ...), think_preopened, completion cap and dtype.",
                rich_help_panel=_MODEL,
            ),
        ] = None,
        checkpoint: Annotated[
            Optional[str],
            typer.Option(
                help="With --run: best | final | N (checkpoint-N); default best when the run has one, "
                "else final.",
                rich_help_panel=_MODEL,
            ),
        ] = None,
        adapter: opt.Adapter = None,
        gguf_file: opt.GGUFFile = None,
        backend: opt.Backend = "hf",
        base_url: opt.BaseUrl = None,
        device: opt.Device = None,
        dtype: Annotated[
            Optional[str],
            typer.Option(
                help="auto | float32 | bfloat16 | float16 (default auto; with --run the run's).",
                rich_help_panel=_MODEL,
            ),
        ] = None,
        benchmarks: Annotated[
            str,
            typer.Option(help="Comma-separated names, `sample`, or file:PATH.", rich_help_panel=_DATA),
        ] = _SEED_SIX,
        data_dir: Annotated[
            Optional[Path],
            typer.Option(help="Benchmark files (layout of ../shared/data).", rich_help_panel=_DATA),
        ] = None,
        limit: Annotated[
            Optional[int], typer.Option(help="First N questions per benchmark.", rich_help_panel=_DATA)
        ] = None,
        exclude_ids: Annotated[
            Optional[Path],
            typer.Option(help="Ids file, JSON list, or `data prepare` manifest.json.", rich_help_panel=_DATA),
        ] = None,
        template: Annotated[
            Optional[str],
            typer.Option(
                help="Prompt template (default r1zero; with --run the run's whole prompt configuration).",
                rich_help_panel=_GEN,
            ),
        ] = None,
        demonstration: Annotated[
            Optional[str],
            typer.Option(
                help="A worked example shown before each question (one-shot), e.g. `anemia` "
                "(medzero.data.demonstrations; invented, no benchmark text). Default: none, or "
                "with --run the run's data.prompt.demonstration.",
                rich_help_panel=_GEN,
            ),
        ] = None,
        samples: Annotated[
            int, typer.Option(help="Completions per question (pass@k).", rich_help_panel=_GEN)
        ] = 1,
        temperature: opt.Temperature = 0.0,
        max_new_tokens: Annotated[
            Optional[int],
            typer.Option(
                help="Token cap per completion (default 1024; with --run the run's max_completion_length).",
                rich_help_panel=_GEN,
            ),
        ] = None,
        batch_size: opt.BatchSize = 16,
        seed: opt.Seed = 0,
        tools: Annotated[
            Optional[str],
            typer.Option(
                help="`search`: the model may search --index while it answers (hf, openai); the "
                "summary adds searches per question and accuracy with vs without the tool.",
                rich_help_panel=_TOOLS,
            ),
        ] = None,
        index: Annotated[
            Optional[Path],
            typer.Option(help="Index folder from `medzero corpus build`.", rich_help_panel=_TOOLS),
        ] = None,
        tool_k: Annotated[int, typer.Option(help="Passages per search.", rich_help_panel=_TOOLS)] = 3,
        max_calls: Annotated[
            int, typer.Option(help="Rounds of tool calls per completion.", rich_help_panel=_TOOLS)
        ] = 2,
        tool_baseline: Annotated[
            bool,
            typer.Option(
                help="Also score the same items without the tool (OUT/without_tool), paired.",
                rich_help_panel=_TOOLS,
            ),
        ] = True,
        json_out: Annotated[bool, typer.Option("--json", help="Print summary.json to stdout.")] = False,
    ) -> None:
        """Evaluate --model on --benchmarks and write OUT/items.jsonl + summary.{json,md,csv}.

        Examples: medzero eval --model MODEL_DIR --benchmarks sample --out eval-out;
        medzero eval --run RUN_DIR --benchmarks file:HELDOUT.jsonl --out eval-out;
        medzero eval --model M --tools search --index INDEX --benchmarks file:Q.jsonl --out eval-out
        """
        if ctx.invoked_subcommand is not None:
            return
        if out is None or (model is None and run_dir is None and gguf_file is None):
            typer.echo(ctx.get_help(), err=True)
            raise typer.BadParameter(
                "--out and one of --model, --gguf-file or --run are required to run an evaluation"
            )
        from medzero.console import console
        from medzero.evaluate.config import EvalConfig
        from medzero.evaluate.fromrun import eval_settings
        from medzero.evaluate.runner import evaluate
        from medzero.evaluate.summary import to_markdown

        chosen = eval_settings(
            run_dir, checkpoint, model, adapter, template, max_new_tokens, dtype, demonstration
        )
        if gguf_file is not None:
            if run_dir is not None:
                from medzero.errors import ConfigError

                raise ConfigError("--run takes the run's model: drop --gguf-file, or drop --run")
            chosen["model"] = chosen["model"] or ""
        cfg = EvalConfig(
            **chosen,
            gguf_file=gguf_file,
            out=str(out),
            backend=backend,  # type: ignore[arg-type]
            benchmarks=benchmarks,  # type: ignore[arg-type]  (split in __post_init__)
            data_dir=str(data_dir) if data_dir else None,
            limit=limit,
            samples=samples,
            temperature=temperature,
            seed=seed,
            batch_size=batch_size,
            exclude_ids=str(exclude_ids) if exclude_ids else None,
            base_url=base_url,
            device=device,
            tools=tools,  # type: ignore[arg-type]  (checked in __post_init__)
            index=str(index) if index else None,
            tool_k=tool_k,
            max_calls=max_calls,
            tool_baseline=tool_baseline,
        )
        if device and device.startswith("cuda"):
            _check_cuda(device)
        from medzero.outdir import output_lock

        with output_lock(out, "eval"):  # two writers on one OUT would score every item twice
            summary = evaluate(cfg)
        if json_out:
            import json

            typer.echo(json.dumps(summary.to_dict(), indent=2))
        else:
            console.print(to_markdown(summary), soft_wrap=True, markup=False)
            console.print(f"written: {out}/summary.md, summary.json, summary.csv, items.jsonl")

    @eval_app.command("compare")
    def compare(
        out_a: Annotated[Path, typer.Argument(help="OUT directory of run A.")],
        out_b: Annotated[Path, typer.Argument(help="OUT directory of run B.")],
        n_boot: Annotated[int, typer.Option(help="Bootstrap resamples.")] = 2000,
        json_out: Annotated[bool, typer.Option("--json", help="JSON instead of a Markdown table.")] = False,
    ) -> None:
        """A - B per benchmark and extraction mode, paired bootstrap 95% CI, on shared questions."""
        from medzero.errors import ConfigError
        from medzero.evaluate.compare import compare_runs, diffs_to_markdown

        if n_boot < 1:
            raise ConfigError(f"--n-boot must be >= 1 (bootstrap resamples), got {n_boot}")
        diffs = compare_runs(out_a, out_b, n_boot=n_boot)
        if json_out:
            import json

            typer.echo(json.dumps([d.to_dict() for d in diffs], indent=2))
        else:
            typer.echo(diffs_to_markdown(diffs, str(out_a), str(out_b)), nl=False)

    @eval_app.command("benchmarks")
    def list_benchmarks(
        data_dir: Annotated[
            Optional[Path], typer.Option(help="Also show which file each benchmark would read here.")
        ] = None,
    ) -> None:
        """List the registered benchmarks: name, title, candidate files (and the one found)."""
        from medzero.errors import DataError
        from medzero.evaluate.benchmarks import BENCHMARKS, find_file

        for name in BENCHMARKS:
            b = BENCHMARKS.get(name)
            where = "bundled" if b.bundled else " | ".join(b.files)
            row = [name, b.title, where]
            if data_dir is not None:
                try:
                    row.append(str(find_file(b, data_dir)))
                except DataError:
                    row.append("MISSING")
            typer.echo("\t".join(row))

    app.add_typer(eval_app, name="eval")

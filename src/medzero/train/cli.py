"""``medzero train RECIPE.yaml [--set k=v ...] [--resume] [--check] [--print-config] [--out RUN_DIR]``.

Light at import time: the training stack (torch, transformers, trl) loads inside the command.
"""

from __future__ import annotations

from pathlib import Path

import typer

#: exit status of a run the collapse guard stopped (docs/training.md, "Collapse guard")
GUARD_STOPPED = 3


def register(app: typer.Typer) -> None:
    """Add ``medzero train`` to the root app."""

    @app.command("train")
    def train_cmd(
        recipe: Path = typer.Argument(..., help="Recipe YAML (see recipes/ and docs/training.md)."),
        set_: list[str] = typer.Option(
            [], "--set", help="Override a recipe value: --set grpo.learning_rate=1e-5 (repeatable)."
        ),
        resume: bool = typer.Option(False, "--resume", help="Continue from the last checkpoint in RUN_DIR."),
        check: bool = typer.Option(False, "--check", help="Run the pre-flight checks only, then exit."),
        print_config: bool = typer.Option(
            False,
            "--print-config",
            help="Print the fully resolved settings as JSON (every GRPOConfig field TRL would receive, "
            "the reward functions with weights and parameters, the template and its system prompt), "
            "then exit. Loads no model.",
        ),
        out: Path | None = typer.Option(
            None, "--out", help="Run directory (default: grpo.output_dir, else runs/<recipe name>)."
        ),
        accelerate_config: Path | None = typer.Option(
            None,
            "--accelerate-config",
            help="With --check: the accelerate config the run will be launched with (e.g. "
            "recipes/accelerate/zero3.yaml): its process count and DeepSpeed settings are checked.",
        ),
        num_processes: int | None = typer.Option(
            None,
            "--num-processes",
            min=1,
            help="With --check: the total number of training processes (accelerate launch "
            "--num_processes); overrides the accelerate config's.",
        ),
    ) -> None:
        """GRPO training on TRL's GRPOTrainer.

        Exit status: 0 finished, 2 bad recipe or failed check, 3 stopped by the collapse guard
        (guard.action: stop; the cause is printed and recorded in RUN_DIR/run_info.json)."""
        import json

        from medzero.errors import ConfigError
        from medzero.train.recipe import load_recipe

        if not check and (accelerate_config or num_processes):
            raise ConfigError("--accelerate-config and --num-processes go with --check")
        rec = load_recipe(recipe, set_)
        run_dir = out or Path(rec.grpo.get("output_dir") or Path("runs") / recipe.stem)
        if print_config:
            from medzero.train.resolved import resolved_settings

            typer.echo(json.dumps(resolved_settings(rec, run_dir), indent=2, default=str))
            return
        if check:
            from dataclasses import replace

            from medzero.train.preflight import preflight
            from medzero.train.runner import print_findings
            from medzero.train.scale import AccelerateConfig, read_accelerate_config

            launch = read_accelerate_config(accelerate_config) if accelerate_config else None
            if num_processes:
                launch = replace(
                    launch or AccelerateConfig("--num-processes", 1, 1, None), num_processes=num_processes
                )
            pre = preflight(rec, for_training=False, launch=launch)
            print_findings(pre.findings)
            typer.echo(
                json.dumps(
                    {
                        "ok": pre.ok,
                        "prompts": pre.report.describe(),
                        "findings": [f.__dict__ for f in pre.findings],
                    }
                )
            )
            if not pre.ok:
                raise ConfigError("pre-flight checks failed")
            return
        import os
        from contextlib import nullcontext

        from medzero.outdir import output_lock
        from medzero.train.rundir import check_resume_recipe

        if resume:  # a changed recipe is refused before the training stack loads
            check_resume_recipe(run_dir, rec)

        # one training run per RUN_DIR: rank 0 of a launch holds the lock (the other ranks share it)
        main_rank = os.environ.get("RANK", "0") == "0"
        with output_lock(run_dir, "train") if main_rank else nullcontext(run_dir):
            from medzero.train.runner import train  # the training stack loads here

            info = train(rec, run_dir, resume=resume)
        guard = info.get("collapse_guard")
        summary = {"run_dir": str(run_dir), "status": info["status"], "step": info["global_step"]}
        if info.get("best"):
            summary["best"] = {"step": info["best"]["step"], "score": info["best"]["score"]}
        if guard:
            summary["collapse_guard"] = {"step": guard["step"], "causes": guard["causes"]}
        typer.echo(json.dumps(summary))
        if info["status"] == "stopped":
            typer.echo(f"stopped by the collapse guard: {guard['message']}", err=True)
            raise typer.Exit(GUARD_STOPPED)

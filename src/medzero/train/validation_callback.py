"""The training-loop side of validation (see :mod:`medzero.train.validation`).

:class:`ValidationCallback` runs on every process. Each process answers its share of the
validation questions (``questions[rank::world_size]``) with the evaluation engine's transformers
backend on the policy it trains (unwrapped as TRL does for its own generation: DeepSpeed ZeRO-3
parameters gathered, gradient checkpointing off), the records are gathered onto every process,
and every process therefore takes the same decision about ``RUN_DIR/best``. Saving goes through
``Trainer.save_model`` on every process (a collective call under DeepSpeed; a LoRA run saves its
adapter, as ``final`` does); rank 0 alone writes files, and all processes wait for it before the
next step.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from medzero.console import console
from medzero.data.prompts import PromptConfig
from medzero.data.schema import MCQ
from medzero.jsonl import JsonlAppender
from medzero.train.validation import BEST_METRIC, VALIDATION_FILE, BestTracker, ValidationSection, scores


class ValidationCallback(TrainerCallback):
    """Validate every ``section.every`` steps and after the last one; keep ``RUN_DIR/best``.

    Args:
        section: the recipe's ``validation:`` section.
        questions: the validation questions (already limited).
        benchmark: name written into each ``validation.jsonl`` record.
        prompt: the run's prompt settings (template, system prompt, system role).
        run_dir: RUN_DIR.
        write_metrics: appends one row to ``metrics.jsonl`` (rank 0's ``MetricsCallback.write``).
        finish_best: called on rank 0 with the freshly saved best model's folder (tokenizer, model card).
    """

    def __init__(
        self,
        section: ValidationSection,
        questions: list[MCQ],
        *,
        benchmark: str,
        prompt: PromptConfig,
        run_dir: str | Path,
        write_metrics: Callable[[dict[str, Any]], None],
        finish_best: Callable[[Path, dict[str, Any]], None] | None = None,
    ):
        self.section, self.questions, self.benchmark, self.prompt = section, questions, benchmark, prompt
        self.run_dir = Path(run_dir)
        self.write_metrics = write_metrics
        self.finish_best = finish_best
        self.best = BestTracker(self.run_dir)
        self.trainer: Any = None
        self.last_step: int | None = None
        self.stalled = 0  # validations in a row without a new best
        self.early_stop: dict[str, Any] | None = None  # why training ended early (stop_at / patience)
        self._items: JsonlAppender | None = None

    def bind(self, trainer: Any) -> ValidationCallback:
        """The trainer whose model is validated and saved (set once it exists)."""
        self.trainer = trainer
        return self

    # ------------------------------------------------------------------------------------ events

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self.best.recover()
        self.trainer.accelerator.wait_for_everyone()
        self.best.load()
        if self.section.at_start and state.global_step == 0:
            self.validate(args, state)

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step % self.section.every == 0:
            row = self.validate(args, state)
            reason = self.stop_reason(row)
            if reason and state.global_step < state.max_steps:
                self.early_stop = {"step": state.global_step, "reason": reason}
                control.should_training_stop = True
                if state.is_world_process_zero:
                    console.print(f"early stop at step {state.global_step}: {reason}", highlight=False)
        return control

    def has_risen(self) -> bool:
        """Whether a validation has beaten the run's first one (the best is from a later step).
        Patience counts only from then on: a run still at its starting level has not plateaued,
        it has not started (a 10-option task sat at chance for 175 steps, then learned)."""
        first = 0 if self.section.at_start else self.section.every
        step = None if self.best.info is None else self.best.info.get("step")
        return step is not None and step > first

    def stop_reason(self, row: dict[str, Any]) -> str | None:
        """Why training should end after this validation (same on every process: the records are
        gathered), or None."""
        stop_at, patience = self.section.stop_at, self.section.patience
        if stop_at is not None and row[BEST_METRIC] >= stop_at:
            return f"validation strict accuracy {row[BEST_METRIC]:.3f} reached validation.stop_at {stop_at}"
        if patience is not None and self.stalled >= patience:
            return f"no new best in {self.stalled} validations (validation.patience {patience})"
        return None

    def on_train_end(self, args, state, control, **kwargs):
        if self.last_step != state.global_step:  # the last step (or one the guard stopped at)
            self.validate(args, state)
        if self._items is not None:
            self._items.close()
            self._items = None

    # ------------------------------------------------------------------------------------ work

    def validate(self, args: Any, state: Any) -> dict[str, Any]:
        """Score the questions at ``state.global_step``; log, and save ``best`` when it improves."""
        from accelerate.utils import gather_object

        t0 = time.perf_counter()
        acc = self.trainer.accelerator
        shard = self.questions[acc.process_index :: acc.num_processes]
        result = self._score(shard, args)
        records = gather_object(result.records)
        failed = gather_object(result.errors)
        step = state.global_step
        self.last_step = step
        row = {"step": step, "epoch": state.epoch, **scores(records)}
        if failed:
            row["eval/failed"] = len(failed)
        score = row[BEST_METRIC]
        better = self.best.improves(score)
        self.stalled = 0 if better or not self.has_risen() else self.stalled + 1
        main = state.is_world_process_zero
        if main:
            self.write_metrics(row)
            if self._items is None:
                self._items = JsonlAppender(self.run_dir / VALIDATION_FILE)
            self._items.write_many([{"step": step, **r} for r in records])
        if better:
            self._save_best(step, row)
        if main:
            mark = (
                "  -> best" if better else f"  (best {self.best.score:.3f} at step {self.best.info['step']})"
            )
            console.print(
                f"validation step {step}: strict {_pct(row['eval/strict'])}, last {_pct(row['eval/last'])}, "
                f"lenient {_pct(row['eval/lenient'])} on {row['eval/n']} questions "
                f"({time.perf_counter() - t0:.1f} s){mark if self.best.info else ''}",
                highlight=False,
            )
        return row

    def _score(self, shard: list[MCQ], args: Any):
        from trl.models.utils import unwrap_model_for_generation

        from medzero.evaluate.backends import BackendConfig
        from medzero.evaluate.backends.hf import HFBackend
        from medzero.evaluate.scoring import GenerationSettings, score_items

        trainer = self.trainer
        tokenizer = getattr(trainer.processing_class, "tokenizer", trainer.processing_class)  # a processor's
        side = tokenizer.padding_side
        max_new = self.section.max_new_tokens or args.max_completion_length
        dist = getattr(trainer, "_dist", None)  # TRL's FSDP helper (absent in other set-ups)
        summon = (
            dist.summon_full_params(trainer.model_wrapped, recurse=False)
            if dist
            else contextlib.nullcontext()
        )
        with (
            unwrap_model_for_generation(
                trainer.model_wrapped,
                trainer.accelerator,
                gather_deepspeed3_params=args.ds3_gather_for_generation,
                gradient_checkpointing_kwargs=args.gradient_checkpointing_kwargs,
            ) as model,
            summon,
        ):
            training = model.training
            try:
                backend = HFBackend(
                    BackendConfig(
                        model=str(self.run_dir),
                        batch_size=self.section.batch_size,
                        device=str(trainer.accelerator.device),
                    ),
                    model=model,
                    tokenizer=tokenizer,
                )
                return score_items(
                    backend,
                    shard,
                    benchmark=self.benchmark,
                    prompt=self.prompt,
                    gen=GenerationSettings(
                        samples=1, temperature=0.0, max_new_tokens=max_new, seed=args.seed
                    ),
                    chunk_size=max(self.section.batch_size * 4, 8),
                    max_attempts=1,
                )
            finally:
                tokenizer.padding_side = side
                model.train(training)

    def _save_best(self, step: int, row: dict[str, Any]) -> None:
        trainer, main = self.trainer, self.trainer.is_world_process_zero()
        if main and self.best.tmp.exists():
            import shutil

            shutil.rmtree(self.best.tmp)
        trainer.accelerator.wait_for_everyone()
        trainer.save_model(str(self.best.tmp))  # every process: a collective call under DeepSpeed
        info = {
            "step": step,
            "metric": BEST_METRIC,
            "score": row[BEST_METRIC],
            "scores": {k: v for k, v in row.items() if k.startswith("eval/")},
            "benchmark": self.benchmark,
            "saved": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        if main:
            if self.finish_best is not None:
                self.finish_best(self.best.tmp, info)
            self.best.commit(info)
        else:
            self.best.info = info
        trainer.accelerator.wait_for_everyone()


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"

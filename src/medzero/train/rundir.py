"""The run directory across interruptions: which checkpoint to resume, whether the recipe may
change on ``--resume``, and when a warm-up folder is complete.

* :func:`last_checkpoint` skips a checkpoint whose ``trainer_state.json`` (written last by the
  Trainer) is missing or torn, and falls back to the previous complete one.
* :func:`check_resume_recipe` compares the recipe of a ``--resume`` with ``RUN_DIR/config.yaml``
  and refuses changes that alter the run, naming the keys (:data:`SAFE_ON_RESUME` lists the rest).
* :func:`prepare_run_dir` refuses to mix two runs; on ``--resume`` it drops log lines newer than
  the checkpoint (exactly-once), and resumes a run killed before its first checkpoint from step 0.
* :func:`model_dir_complete` tells a finished ``save_pretrained`` folder from a half-written one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from medzero.console import console
from medzero.errors import ConfigError
from medzero.train.recipe import Recipe

CONFIG_FILE = "config.yaml"
# medzero.train.callbacks' file names (that module imports transformers: loaded when needed)
METRICS_FILE, COMPLETIONS_FILE = "metrics.jsonl", "completions.jsonl"

#: Recipe keys that may change on ``--resume`` (anything else is refused, naming the keys):
#: ``grpo.max_steps`` / ``grpo.num_train_epochs`` only upwards (train longer), and settings that
#: change how the run is saved, logged or watched, not what it learns.
SAFE_ON_RESUME: dict[str, str] = {
    "grpo.max_steps": "larger only: train for more steps",
    "grpo.num_train_epochs": "larger only: train for more epochs",
    "grpo.save_steps": "checkpoint interval",
    "grpo.save_total_limit": "checkpoints kept",
    "grpo.logging_steps": "logging interval",
    "grpo.report_to": "where metrics are reported",
    "grpo.run_name": "the run's display name",
    "grpo.logging_dir": "TensorBoard folder",
    "grpo.output_dir": "RUN_DIR (given by --out)",
    "grpo.disable_tqdm": "progress display",
    "grpo.dataloader_num_workers": "data loading processes",
    "guard.action": "collapse guard: what to do",
    "guard.patience": "collapse guard: steps to wait",
    "guard.threshold": "collapse guard: level",
}
_LARGER_ONLY = ("grpo.max_steps", "grpo.num_train_epochs")


def last_checkpoint(out: Path) -> tuple[Path, int] | None:
    """The newest complete ``checkpoint-N`` and its step. A checkpoint whose trainer state is
    torn (a kill while it was written) is renamed ``incomplete-checkpoint-N`` and skipped."""
    best = None
    for p in out.glob("checkpoint-*"):
        state = p / "trainer_state.json"
        if not (p.is_dir() and state.is_file()):
            continue
        try:
            step = int(json.loads(state.read_text(encoding="utf-8"))["global_step"])
        except (ValueError, KeyError, TypeError, OSError, RecursionError):
            aside = p.with_name(f"incomplete-{p.name}")
            console.print(
                f"[yellow]warning:[/] {state} is torn (a kill while it was written): "
                f"{p.name} set aside as {aside.name}; resuming from the previous checkpoint",
                highlight=False,
            )
            p.rename(aside)
            continue
        if best is None or step > best[1]:
            best = (p, step)
    return best


def flat(d: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings -> ``{"a.b": value}`` (lists are values)."""
    if not isinstance(d, dict):
        return {prefix.rstrip("."): d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(flat(v, f"{prefix}{k}."))
    return out


def recipe_changes(old: dict[str, Any], new: Recipe) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """``(allowed, refused)`` changes ``{key: (old, new)}`` between a run's config.yaml and ``new``.

    A key missing from the old file (a field added by a later medzero) counts as its default."""
    defaults = flat(Recipe().to_dict())
    before, after = flat(old), flat(new.to_dict())
    allowed: dict[str, tuple] = {}
    refused: dict[str, tuple] = {}
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key, defaults.get(key)), after.get(key, defaults.get(key))
        if a == b:
            continue
        safe = key in SAFE_ON_RESUME
        if key in _LARGER_ONLY:  # TRL's defaults: max_steps -1 (train by epochs), 3 epochs
            lo = a if isinstance(a, (int, float)) else (-1 if key == "grpo.max_steps" else 3)
            # from epochs to a step count cannot be told longer or shorter: refused
            safe = isinstance(b, (int, float)) and lo != -1 and b > lo
        (allowed if safe else refused)[key] = (a, b)
    return allowed, refused


def check_resume_recipe(out: Path, recipe: Recipe) -> dict[str, tuple]:
    """Refuse a changed recipe on ``--resume`` (listing every key); return the allowed changes."""
    path = out / CONFIG_FILE
    if not path.is_file():
        return {}
    try:
        old = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the run's recipe ({exc}); resume is not safe") from None
    allowed, refused = recipe_changes(old if isinstance(old, dict) else {}, recipe)
    if refused:
        shown = "; ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in refused.items())
        raise ConfigError(
            f"--resume: the recipe differs from the one this run started with ({path}): {shown}. "
            "These change what the run learns, so resuming would mix two runs: resume with the "
            "original values, or start a new run with another --out. Allowed on resume: "
            + ", ".join(SAFE_ON_RESUME)
            + " (docs/training.md)"
        )
    for key, (a, b) in allowed.items():
        console.print(f"resume: {key} {a!r} -> {b!r} ({SAFE_ON_RESUME[key]})", highlight=False)
    return allowed


def prepare_run_dir(out: Path, resume: bool, main: bool = True) -> tuple[Path | None, int] | None:
    """Refuse to mix runs; on resume drop log lines newer than the checkpoint (exactly-once); the
    recipe is compared before (:func:`check_resume_recipe`).

    Returns ``None`` for a new run, else ``(checkpoint, step)``; ``(None, 0)`` resumes a run that
    was killed before its first checkpoint (it starts over, in the same folder). Only the main
    process checks (it runs first and writes config.yaml); the others follow its decision."""
    if not main:
        return (last_checkpoint(out) or (None, 0)) if resume else None
    started = (out / CONFIG_FILE).exists() or (out / METRICS_FILE).exists() or any(out.glob("checkpoint-*"))
    if not resume:
        if started:
            raise ConfigError(
                f"{out} already holds a training run: pass --resume (continues from its last checkpoint, "
                "or from step 0 when it was stopped before the first one), or choose another --out"
            )
        return None
    if not started:
        raise ConfigError(f"--resume: {out} holds no training run to resume; run without --resume")
    ckpt = last_checkpoint(out)
    if ckpt is None:
        console.print(
            f"resume: no complete checkpoint in {out} yet: starting again from step 0", highlight=False
        )
    from medzero.train.callbacks import truncate_after_step
    from medzero.train.validation import VALIDATION_FILE

    for name in (METRICS_FILE, COMPLETIONS_FILE, VALIDATION_FILE):
        truncate_after_step(out / name, ckpt[1] if ckpt else 0)
    return ckpt or (None, 0)


def model_dir_complete(path: Path) -> bool:
    """True when ``path`` holds a whole ``save_pretrained`` model: config, weights whose
    safetensors headers match their sizes, and a tokenizer."""
    if not (path / "config.json").is_file() or not any(path.glob("tokenizer*")):
        return False
    weights = sorted(path.glob("*.safetensors"))
    if not weights:
        return (path / "pytorch_model.bin").is_file()
    from safetensors import SafetensorError, safe_open

    try:
        for w in weights:
            with safe_open(str(w), framework="np") as fh:
                fh.keys()
    except (SafetensorError, OSError, ValueError):  # a torn weight file: incomplete
        return False
    return True

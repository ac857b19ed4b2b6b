"""``medzero eval --run RUN_DIR``: the model and prompt settings of a training run.

A training run folder (``medzero train --out RUN_DIR``) holds ``config.yaml`` (the recipe as
run), ``run_info.json`` (the resolved base model, ``think_preopened``), ``final/``, possibly
``best/`` (the best validation checkpoint) and ``checkpoint-N/`` folders. :func:`run_settings`
reads what an evaluation must share with the training: the model (or LoRA adapter + its base),
the whole prompt configuration (``data.prompt``: template, system prompt, instruction, option
format, system role), ``think_preopened``, the completion cap (``grpo.max_completion_length``)
and the weights' dtype.

``config.yaml`` is read here, section by section (:mod:`medzero.sections`), not through
:mod:`medzero.train.recipe`: evaluation sits below training (training validates through it), and
the file was checked as a whole when the run wrote it. :func:`recipe_prompt` gives the prompt of a
recipe file or a run folder to other readers below training (``medzero curriculum grade``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medzero import yamlsafe
from medzero.data.prompts import PromptConfig
from medzero.errors import ConfigError
from medzero.sections import Where, build, coerce_scalar, mapping

CONFIG_FILE, RUN_INFO_FILE = "config.yaml", "run_info.json"
_DTYPES = ("float32", "bfloat16", "float16")


@dataclass(frozen=True)
class RunSettings:
    """What ``eval --run`` takes from a training run."""

    run_dir: Path
    checkpoint: str  # "best", "final" or "checkpoint-N"
    model: str  # the folder to load, or the base model when `adapter` is set
    adapter: str | None  # a LoRA checkpoint folder (peft runs)
    prompt: PromptConfig
    think_preopened: bool
    max_new_tokens: int
    dtype: str | None  # the training dtype when it is one eval accepts


def checkpoint_dir(run_dir: Path, checkpoint: str | None) -> Path:
    """``best`` (default when the run has one), ``final`` or ``checkpoint-N`` (``N`` given)."""
    if checkpoint is None:
        checkpoint = "best" if (run_dir / "best").is_dir() else "final"
    name = f"checkpoint-{checkpoint}" if checkpoint.isdigit() else checkpoint
    if not (name in ("best", "final") or name.startswith("checkpoint-")):
        raise ConfigError(f'--checkpoint: expected best, final or a step number, got "{checkpoint}"')
    path = run_dir / name
    if not path.is_dir():
        have = sorted(p.name for p in run_dir.iterdir() if p.is_dir() and _is_model_dir(p))
        raise ConfigError(
            f"{path}: no such checkpoint in the run; available: {', '.join(have) or '(none: did the run finish?)'}"
        )
    if not _is_model_dir(path):
        raise ConfigError(f"{path}: holds no saved model (no config.json or adapter_config.json)")
    return path


def _is_model_dir(path: Path) -> bool:
    return (path / "config.json").is_file() or (path / "adapter_config.json").is_file()


def run_settings(run_dir: str | Path, checkpoint: str | None = None) -> RunSettings:
    """The :class:`RunSettings` of a training run folder (a clear error when it is not one)."""
    run_dir = Path(run_dir)
    config = run_dir / CONFIG_FILE
    if not config.is_file():
        raise ConfigError(f"--run {run_dir}: not a training run folder (no {CONFIG_FILE})")
    raw, at = _read_recipe(config)
    model_raw = mapping(raw.get("model"), "model", at)
    info = _read_info(run_dir / RUN_INFO_FILE)
    ckpt = checkpoint_dir(run_dir, checkpoint)
    model, adapter = str(ckpt), None
    if (ckpt / "adapter_config.json").is_file():
        adapter = str(ckpt)
        model = str(info.get("model_path") or _adapter_base(ckpt) or model_raw.get("name_or_path") or "")
    cap = coerce_scalar(mapping(raw.get("grpo"), "grpo", at).get("max_completion_length"))
    if cap is None:
        cap = _trl_default("max_completion_length")
    elif not isinstance(cap, int) or isinstance(cap, bool):
        raise ConfigError(
            f"{at.where('grpo.max_completion_length')}: expected a number of tokens, got {cap!r}"
        )
    dtype = model_raw.get("dtype")
    return RunSettings(
        run_dir=run_dir,
        checkpoint=ckpt.name,
        model=model,
        adapter=adapter,
        prompt=_prompt(raw, at),
        think_preopened=bool(info.get("think_preopened", False)),
        max_new_tokens=int(cap),
        dtype=dtype if dtype in _DTYPES else None,
    )


def recipe_prompt(path: str | Path) -> PromptConfig:
    """The prompt settings (``data.prompt``) of a recipe file, or of a run folder's ``config.yaml``."""
    path = Path(path)
    config = path / CONFIG_FILE if path.is_dir() else path
    if not config.is_file():
        raise ConfigError(f"{path}: no such recipe file or run folder with {CONFIG_FILE}")
    return _prompt(*_read_recipe(config))


def _read_recipe(config: Path) -> tuple[dict[str, Any], Where]:
    text = yamlsafe.read_text(config)
    raw = yamlsafe.loads(text, str(config)) or {}  # no aliases, no duplicate keys, no tags
    if not isinstance(raw, dict):
        raise ConfigError(f"{config}: a recipe is a mapping of sections (model, data, rewards, grpo, ...)")
    return raw, Where(str(config), yamlsafe.key_lines(text))


def _prompt(raw: dict[str, Any], at: Where) -> PromptConfig:
    return build(PromptConfig, mapping(raw.get("data"), "data", at).get("prompt"), "data.prompt", at)


def _read_info(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None
    return info if isinstance(info, dict) else {}


def _adapter_base(ckpt: Path) -> str | None:
    info = _read_info(ckpt / "adapter_config.json")
    base = info.get("base_model_name_or_path")
    return str(base) if base else None


def _trl_default(name: str) -> Any:
    import dataclasses

    from trl import GRPOConfig

    return next(f.default for f in dataclasses.fields(GRPOConfig) if f.name == name)


def eval_settings(
    run_dir: Path | None,
    checkpoint: str | None,
    model: str | None,
    adapter: str | None,
    template: str | None,
    max_new_tokens: int | None,
    dtype: str | None,
    demonstration: str | None = None,
) -> dict[str, Any]:
    """``EvalConfig`` keyword arguments for the model and prompt options of ``medzero eval``:
    from ``--run`` (options given explicitly override the run's), else from the options and
    their defaults (template r1zero, 1024 new tokens, dtype auto). ``demonstration`` adds a
    worked example to the prompt (:mod:`medzero.data.demonstrations`), the run's one or not."""
    from dataclasses import replace

    from medzero.console import console

    if run_dir is None:
        if checkpoint is not None:
            raise ConfigError("--checkpoint needs --run RUN_DIR")
        chosen: dict[str, Any] = {
            "model": model,
            "adapter": adapter,
            "template": template or "r1zero",
            "max_new_tokens": 1024 if max_new_tokens is None else max_new_tokens,
            "dtype": dtype or "auto",
        }
        if demonstration:
            chosen["prompt"] = PromptConfig(template=chosen["template"], demonstration=demonstration)
        return chosen
    if model is not None or adapter is not None:
        raise ConfigError("--run takes the run's model: drop --model/--adapter, or drop --run")
    s = run_settings(run_dir, checkpoint)
    prompt = s.prompt if template is None else replace(s.prompt, template=template)
    if demonstration:
        prompt = replace(prompt, demonstration=demonstration)
    chosen = {
        "model": s.model,
        "adapter": s.adapter,
        "prompt": prompt,
        "think_preopened": s.think_preopened,
        "max_new_tokens": s.max_new_tokens if max_new_tokens is None else max_new_tokens,
        "dtype": dtype or s.dtype or "auto",
    }
    console.print(
        f"run {run_dir}: {s.checkpoint} ({s.adapter + ' on ' + s.model if s.adapter else s.model}), "
        f"template {prompt.template}, system role {prompt.system_role}, "
        + (f"demonstration {prompt.demonstration}, " if prompt.demonstration else "")
        + f"max new tokens {chosen['max_new_tokens']}, dtype {chosen['dtype']}"
        + (", think pre-opened" if s.think_preopened else ""),
        highlight=False,
        markup=False,
    )
    return chosen

"""Scale-out set-up: which DeepSpeed configuration a run uses, and DeepSpeed on a machine without CUDA.

A run uses DeepSpeed when it is started by ``accelerate launch`` with a DeepSpeed config
(``recipes/accelerate/zero2.yaml``, ``zero3.yaml``, ...: accelerate exports
``ACCELERATE_USE_DEEPSPEED`` and ``ACCELERATE_DEEPSPEED_*``) or when the recipe sets
``grpo.deepspeed`` (a DeepSpeed JSON file, transformers' own integration, for ``torchrun``).
:class:`DeepSpeedSetup` is what both give, read without importing DeepSpeed; ``--check`` reads
it from an accelerate config file instead.

Without CUDA, accelerate (1.15) gives a DeepSpeed process no distributed backend and so sees one
process per launch, while DeepSpeed itself (its CPU accelerator, gloo) sees them all: the batch
sizes disagree and DeepSpeed stops. :func:`init_cpu_deepspeed` sets accelerate's process state
up with gloo before TRL's config reads it; see docs/scaling.md.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from medzero import yamlsafe
from medzero.errors import ConfigError

#: Offload devices DeepSpeed knows.
OFFLOAD_DEVICES = ("none", "cpu", "nvme")


@dataclass(frozen=True)
class DeepSpeedSetup:
    """What a run's DeepSpeed configuration asks for (``None``: not stated, DeepSpeed's default)."""

    source: str = field(metadata={"help": "Where it was read: a file, or 'accelerate launch environment'."})
    stage: int | None = field(default=None, metadata={"help": "ZeRO stage 0-3."})
    offload_param: str = field(default="none", metadata={"help": "none, cpu or nvme (ZeRO-3 only)."})
    offload_optimizer: str = field(default="none", metadata={"help": "none, cpu or nvme (ZeRO 1-3)."})
    zero3_init: bool | None = field(
        default=None, metadata={"help": "Weights partitioned while loading (accelerate's zero3_init_flag)."}
    )
    config: dict[str, Any] = field(
        default_factory=dict, metadata={"help": "The DeepSpeed JSON config, when a file gives one."}
    )
    mixed_precision: str | None = field(
        default=None, metadata={"help": "The launcher's mixed precision (no, fp16, bf16), when it sets one."}
    )

    @property
    def offloads(self) -> bool:
        return self.offload_param != "none" or self.offload_optimizer != "none"


def _get(config: dict[str, Any], dotted: str) -> Any:
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _device(value: Any) -> str:
    return str(value or "none").lower()


def load_deepspeed_json(path: Path, where: str) -> dict[str, Any]:
    """A DeepSpeed JSON config as a dict; ``ConfigError`` naming ``where`` (the field that names
    the file), or the file's line and column when it does not parse."""
    if not path.is_file():
        raise ConfigError(f"{where}: DeepSpeed config file not found: {path}")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON ({exc.msg})") from None
    except (UnicodeDecodeError, RecursionError) as exc:
        why = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else "nested too deeply"
        raise ConfigError(f"{path}: invalid JSON ({why})") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: a DeepSpeed config is a JSON object, got {type(config).__name__}")
    stage = _get(config, "zero_optimization.stage")
    if stage is not None and stage != "auto" and stage not in (0, 1, 2, 3):
        raise ConfigError(f'{path}: "zero_optimization.stage" is {stage!r}; expected 0, 1, 2 or 3')
    return config


def setup_from_json(config: dict[str, Any], source: str) -> DeepSpeedSetup:
    stage = _get(config, "zero_optimization.stage")
    return DeepSpeedSetup(
        source=source,
        stage=stage if isinstance(stage, int) else None,
        offload_param=_device(_get(config, "zero_optimization.offload_param.device")),
        offload_optimizer=_device(_get(config, "zero_optimization.offload_optimizer.device")),
        config=config,
    )


def resolve_recipe_deepspeed(value: Any, recipe_source: str | None) -> Path | None:
    """The file ``grpo.deepspeed`` names: relative paths are tried against the recipe's folder,
    then the current directory. ``None`` when the value is not a path (unset, or an inline mapping)."""
    if not isinstance(value, str) or not value:
        return None
    path = Path(value).expanduser()
    if path.is_absolute():
        return path
    if recipe_source:
        beside = Path(recipe_source).parent / path
        if beside.is_file():
            return beside.resolve()
    return path.resolve()


def recipe_setup(grpo: dict[str, Any], recipe_source: str | None, where: str) -> DeepSpeedSetup | None:
    """The setup ``grpo.deepspeed`` gives (a JSON file or an inline mapping), checked; ``where`` is the
    located name of the field for errors."""
    value = grpo.get("deepspeed")
    if value in (None, ""):
        return None
    if isinstance(value, dict):
        return setup_from_json(value, f"{where} (inline)")
    path = resolve_recipe_deepspeed(value, recipe_source)
    if path is None:
        raise ConfigError(f'{where}: "grpo.deepspeed" must be a JSON file path or a mapping, got {value!r}')
    field_name = f'{where}: "grpo.deepspeed"'
    if not path.is_file() and not Path(value).is_absolute() and recipe_source:
        beside = Path(recipe_source).parent / value
        raise ConfigError(
            f"{field_name}: DeepSpeed config file not found: {value} (tried {beside} and {path})"
        )
    return setup_from_json(load_deepspeed_json(path, field_name), str(path))


def environment_setup(env: dict[str, str] | None = None) -> DeepSpeedSetup | None:
    """The setup ``accelerate launch`` exported to this process, or ``None`` when it asked for none."""
    env = dict(os.environ if env is None else env)
    if env.get("ACCELERATE_USE_DEEPSPEED", "false").lower() != "true":
        return None
    precision = env.get("ACCELERATE_MIXED_PRECISION")
    file = env.get("ACCELERATE_DEEPSPEED_CONFIG_FILE", "none")
    if file and file != "none":
        ds = setup_from_json(
            load_deepspeed_json(Path(file), "deepspeed_config_file (accelerate config)"), file
        )
        return replace(ds, mixed_precision=precision)
    init = env.get("ACCELERATE_DEEPSPEED_ZERO3_INIT")
    return DeepSpeedSetup(
        source="accelerate launch environment",
        mixed_precision=precision,
        stage=int(env.get("ACCELERATE_DEEPSPEED_ZERO_STAGE", 2)),
        offload_param=_device(env.get("ACCELERATE_DEEPSPEED_OFFLOAD_PARAM_DEVICE")),
        offload_optimizer=_device(env.get("ACCELERATE_DEEPSPEED_OFFLOAD_OPTIMIZER_DEVICE")),
        zero3_init=None if init is None else init.lower() == "true",
    )


@dataclass(frozen=True)
class AccelerateConfig:
    """The parts of an ``accelerate launch --config_file`` YAML that the checks use."""

    path: str
    num_processes: int
    num_machines: int
    deepspeed: DeepSpeedSetup | None


def read_accelerate_config(path: Path) -> AccelerateConfig:
    """Parse an accelerate config file; errors name the file and line."""
    if not path.is_file():
        raise ConfigError(f"accelerate config not found: {path}")
    raw = yamlsafe.loads(yamlsafe.read_text(path), str(path)) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: an accelerate config is a mapping (compute_environment, ...)")
    try:
        procs, machines = int(raw.get("num_processes", 1)), int(raw.get("num_machines", 1))
    except (TypeError, ValueError):
        raise ConfigError(f"{path}: num_processes and num_machines must be integers") from None
    ds = None
    if str(raw.get("distributed_type", "")).upper() == "DEEPSPEED":
        dsc = raw.get("deepspeed_config") or {}
        if not isinstance(dsc, dict):
            raise ConfigError(f'{path}: "deepspeed_config" must be a mapping')
        file = dsc.get("deepspeed_config_file")
        if file:
            target = Path(file) if Path(file).is_absolute() else path.parent / file
            if not target.is_file() and Path(file).is_file():
                target = Path(file)
            where = f"{path}: deepspeed_config.deepspeed_config_file"
            ds = setup_from_json(load_deepspeed_json(target, where), str(target))
            ds = replace(ds, mixed_precision=raw.get("mixed_precision"))
        else:
            for key in ("offload_param_device", "offload_optimizer_device"):
                if _device(dsc.get(key)) not in OFFLOAD_DEVICES:
                    raise ConfigError(
                        f'{path}: "deepspeed_config.{key}" is {dsc.get(key)!r}; expected one of '
                        f"{', '.join(OFFLOAD_DEVICES)}"
                    )
            init = dsc.get("zero3_init_flag")
            ds = DeepSpeedSetup(
                source=str(path),
                stage=int(dsc.get("zero_stage", 2)),
                offload_param=_device(dsc.get("offload_param_device")),
                offload_optimizer=_device(dsc.get("offload_optimizer_device")),
                zero3_init=None if init is None else bool(init),
                mixed_precision=raw.get("mixed_precision"),
            )
    return AccelerateConfig(str(path), procs, machines, ds)


def deepspeed_requested(grpo: dict[str, Any]) -> bool:
    """This process runs under DeepSpeed: launched with a DeepSpeed accelerate config, or
    ``grpo.deepspeed`` is set."""
    launched = os.environ.get("ACCELERATE_USE_DEEPSPEED", "false").lower() == "true"
    return launched or grpo.get("deepspeed") not in (None, "")


def init_cpu_deepspeed() -> dict[str, Any]:
    """Set up accelerate's process state for DeepSpeed on CPUs (gloo) and return the GRPOConfig
    keyword arguments that make TRL use it instead of building its own. Call before GRPOConfig."""
    os.environ.setdefault("DS_ACCELERATOR", "cpu")
    os.environ["ACCELERATE_USE_DEEPSPEED"] = "true"
    if "LOCAL_RANK" not in os.environ:  # started without a launcher: a one-process group
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        single = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "LOCAL_WORLD_SIZE": "1"}
        for key, value in {**single, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}.items():
            os.environ.setdefault(key, value)
    _skip_shm_comm_build()
    from accelerate import PartialState

    state = PartialState(backend="gloo")
    if int(os.environ.get("WORLD_SIZE", "1")) != state.num_processes:
        raise RuntimeError(
            f"DeepSpeed on CPU: accelerate sees {state.num_processes} process(es), "
            f"the launcher started {os.environ.get('WORLD_SIZE')}"
        )
    return {"use_cpu": False, "accelerator_config": {"use_configured_state": True}}


def _skip_shm_comm_build() -> None:
    """DeepSpeed's CPU backend compiles a C++ shared-memory op at start-up (a C++ compiler and
    about 2 minutes on 2 cores, once per machine). It serves only ``inference_all_reduce``, which
    falls back to gloo without it; training's collectives never use it. Marking it incompatible
    skips the build."""
    import deepspeed.ops

    compatible = dict(deepspeed.ops.__compatible_ops__)
    compatible["deepspeed_shm_comm"] = False
    deepspeed.ops.__compatible_ops__ = compatible

"""Scale-out: the tiny recipe under `accelerate launch --num_processes 2 --cpu`, and the shipped
accelerate/DeepSpeed configs are well-formed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

ACCEL = Path(__file__).resolve().parents[2] / "recipes" / "accelerate"
STEPS, PER_DEVICE = 2, 4


def load(name):
    return yaml.safe_load((ACCEL / name).read_text())


@pytest.mark.parametrize(
    "name", ["ddp.yaml", "zero2.yaml", "zero3.yaml", "zero3-offload.yaml", "multinode.yaml"]
)
def test_accelerate_configs_are_well_formed(name):
    from accelerate.commands.config.config_args import ClusterConfig

    cfg = load(name)
    ClusterConfig(**cfg)  # accelerate's own schema: unknown keys raise TypeError
    assert cfg["num_processes"] % cfg["num_machines"] == 0 and cfg["use_cpu"] is False
    if cfg["distributed_type"] == "DEEPSPEED":
        ds = cfg["deepspeed_config"]
        assert ds["zero_stage"] in (2, 3)
        assert ds["zero3_init_flag"] is (ds["zero_stage"] == 3)
    else:
        assert cfg["distributed_type"] == "MULTI_GPU" and "deepspeed_config" not in cfg
    if cfg["num_machines"] > 1:
        assert cfg["main_process_ip"] and cfg["main_process_port"]


def write_recipe(path, model_dir):
    path.write_text(
        yaml.safe_dump(
            {
                "model": {"name_or_path": str(model_dir)},
                "data": {"synthetic": 16},
                "rewards": {"accuracy": 1.0, "format": 0.2},
                "grpo": {
                    "num_generations": 2,
                    "per_device_train_batch_size": PER_DEVICE,
                    "max_completion_length": 8,
                    "max_steps": STEPS,
                    "save_steps": STEPS,
                    "learning_rate": 1e-4,
                    "gradient_checkpointing": False,
                    "seed": 0,
                },
            }
        )
    )


def accelerate_cli():
    accelerate = shutil.which("accelerate", path=str(Path(sys.executable).parent))
    assert accelerate, "accelerate CLI not found next to the interpreter"
    return accelerate


@pytest.mark.slow
def test_two_cpu_processes_train_in_step(tiny_model_dir, tmp_path):
    accelerate = accelerate_cli()
    recipe, out = tmp_path / "tiny.yaml", tmp_path / "run"
    write_recipe(recipe, tiny_model_dir)
    cmd = [accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1"]
    cmd += ["--mixed_precision", "no"]
    cmd += ["--dynamo_backend", "no", "-m", "medzero.cli", "train", str(recipe), "--out", str(out)]
    env = {**os.environ, "MEDZERO_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]

    info = json.loads((out / "run_info.json").read_text())
    assert info["world_size"] == 2 and info["status"] == "finished" and info["global_step"] == STEPS
    metrics = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == list(range(1, STEPS + 1))  # rank 0 alone writes metrics
    ranks = defaultdict(lambda: defaultdict(int))
    for line in (out / "completions.jsonl").read_text().splitlines():
        row = json.loads(line)
        ranks[row["step"]][row["rank"]] += 1
    # every step has both ranks' completions, gathered by TRL and written once by rank 0
    assert {s: dict(r) for s, r in ranks.items()} == {
        s: {0: PER_DEVICE, 1: PER_DEVICE} for s in range(1, STEPS + 1)
    }

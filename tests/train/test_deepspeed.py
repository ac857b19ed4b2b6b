"""Scale-out that runs: GRPO under DeepSpeed ZeRO-2/ZeRO-3 in 2 CPU processes, ZeRO-3 resume after
``kill -9``, and two "nodes" on loopback (DDP and ZeRO-2). All slow; none needs a GPU.

DeepSpeed runs here on its CPU accelerator (gloo); ``medzero.train.scale`` sets accelerate's
process state up for it. The model is the tiny local model after a short format warm-up, so that
rewards differ within a group and the optimizer really moves the weights.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("deepspeed") is None,
        reason="needs the deepspeed extra: pip install 'medzero[deepspeed]'",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
ACCEL = ROOT / "recipes" / "accelerate"
PER_DEVICE, REWARDS = 4, ("accuracy", "format")
ENV = {**os.environ, "MEDZERO_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
ENV["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p)


@pytest.fixture(scope="module")
def warm_model(tiny_model_dir, tmp_path_factory):
    """The tiny model after 40 format warm-up steps: completions differ in format reward."""
    from medzero.data.prompts import PromptConfig
    from medzero.data.synthetic import drug_class_questions
    from medzero.train.warmup import run_format_warmup

    out = tmp_path_factory.mktemp("warm") / "model"
    questions = drug_class_questions(64, 0, "train")
    return run_format_warmup(
        tiny_model_dir, questions, out, steps=40, prompt_cfg=PromptConfig("r1zero-short")
    )


def write_recipe(path: Path, model: Path, steps: int, save_steps: int, **grpo) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "model": {"name_or_path": str(model)},
                "data": {"synthetic": 32, "prompt": {"template": "r1zero-short"}},
                "rewards": {"accuracy": 1.0, "format": 0.2},
                "grpo": {
                    "num_generations": 2,
                    "per_device_train_batch_size": PER_DEVICE,
                    "max_completion_length": 16,
                    "max_steps": steps,
                    "save_steps": save_steps,
                    "learning_rate": 1e-3,
                    "lr_scheduler_type": "constant",
                    "beta": 0.0,
                    "temperature": 1.0,
                    "gradient_checkpointing": False,
                    "seed": 0,
                    **grpo,
                },
            }
        )
    )
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accelerate(config: Path, *args: str) -> list[str]:
    exe = Path(sys.executable).parent / "accelerate"
    assert exe.is_file(), "accelerate CLI not found next to the interpreter"
    return [str(exe), "launch", "--config_file", str(config), "--mixed_precision", "no", *args]


def train_args(recipe: Path, out: Path, *extra: str) -> list[str]:
    return ["-m", "medzero.cli", "train", str(recipe), "--out", str(out), *extra]


def run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-6000:])


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def state_dict(model_dir: Path) -> dict:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def check_run(out: Path, steps: int, save_steps: int, start: Path, zero: bool = True) -> None:
    """Both ranks stepped together, finite losses, complete reward logs, checkpoints, a loadable final model."""
    info = json.loads((out / "run_info.json").read_text())
    assert (info["world_size"], info["status"], info["global_step"]) == (2, "finished", steps)

    metrics = read_jsonl(out / "metrics.jsonl")
    assert [m["step"] for m in metrics] == list(range(1, steps + 1)), "each step logged exactly once"
    assert all(math.isfinite(m["loss"]) and math.isfinite(m["grad_norm"]) for m in metrics)
    assert any(m["grad_norm"] > 0 for m in metrics), "no gradient: rewards never differed within a group"

    rows = read_jsonl(out / "completions.jsonl")
    per_step = Counter((r["step"], r["rank"]) for r in rows)
    assert per_step == {(s, r): PER_DEVICE for s in range(1, steps + 1) for r in (0, 1)}
    for r in rows:  # every completion carries every reward and an advantage
        assert set(r["rewards"]) == set(REWARDS) and all(math.isfinite(v) for v in r["rewards"].values())
        assert math.isfinite(r["reward"]) and math.isfinite(r["advantage"])

    for k in range(save_steps, steps + 1, save_steps):
        ckpt = out / f"checkpoint-{k}"
        assert json.loads((ckpt / "trainer_state.json").read_text())["global_step"] == k
        assert {p.name for p in ckpt.glob("rng_state_*.pth")} == {"rng_state_0.pth", "rng_state_1.pth"}
        if zero:  # DeepSpeed's own checkpoint: one optimizer shard per rank
            shards = {p.name for p in (ckpt / f"global_step{k}").glob("*optim_states.pt")}
            assert shards == {f"zero_pp_rank_{r}_mp_rank_00_optim_states.pt" for r in (0, 1)}, shards

    final, before = state_dict(out / "final"), state_dict(start)
    assert final.keys() == before.keys()
    assert all(final[k].shape == before[k].shape for k in final), "final/ holds shards, not the whole model"
    assert all(bool(v.isfinite().all()) for v in final.values())
    assert any(not bool((final[k] == before[k]).all()) for k in final), "the weights did not change"


def test_deepspeed_zero2_two_cpu_processes(warm_model, tmp_path):
    recipe, out = write_recipe(tmp_path / "r.yaml", warm_model, steps=2, save_steps=2), tmp_path / "run"
    cmd = accelerate(ACCEL / "zero2.yaml", "--num_processes", "2", "--main_process_port", str(free_port()))
    run(cmd + train_args(recipe, out))
    check_run(out, 2, 2, warm_model)


def test_deepspeed_zero3_offload_two_cpu_processes_with_torchrun(warm_model, tmp_path):
    """The seed's ZeRO-3 offload (parameters and optimizer states in CPU memory) through transformers'
    own integration: torchrun + ``grpo.deepspeed``. ``zero_force_ds_cpu_optimizer: false`` keeps
    torch's AdamW (DeepSpeed's CPU Adam is a C++ build of several minutes)."""
    ds = {
        "zero_optimization": {
            "stage": 3,
            "offload_param": {"device": "cpu"},
            "offload_optimizer": {"device": "cpu"},
            "stage3_gather_16bit_weights_on_model_save": True,
        },
        "zero_force_ds_cpu_optimizer": False,
        "train_micro_batch_size_per_gpu": "auto",
        "train_batch_size": "auto",
        "gradient_accumulation_steps": "auto",
        "gradient_clipping": "auto",
        "bf16": {"enabled": "auto"},
    }
    (tmp_path / "zero3-offload.json").write_text(json.dumps(ds))
    recipe = write_recipe(
        tmp_path / "r.yaml", warm_model, steps=2, save_steps=2, deepspeed="zero3-offload.json"
    )
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
    cmd += ["--master_port", str(free_port())]
    run(cmd + train_args(recipe, out))
    check_run(out, 2, 2, warm_model)


def test_deepspeed_zero3_resume_after_kill_9(warm_model, tmp_path):
    """kill -9 every process of a ZeRO-3 run after its first checkpoint, resume: each step is logged
    once, and final/ is the whole model (16-bit gather on save), loadable with from_pretrained."""
    steps, save = 6, 2
    recipe, out = (
        write_recipe(tmp_path / "r.yaml", warm_model, steps=steps, save_steps=save),
        tmp_path / "run",
    )
    cmd = accelerate(ACCEL / "zero3.yaml", "--num_processes", "2", "--main_process_port", str(free_port()))
    log = (tmp_path / "first.log").open("w")
    proc = subprocess.Popen(cmd + train_args(recipe, out), env=ENV, stdout=log, stderr=subprocess.STDOUT)
    killed_after = None
    deadline = time.monotonic() + 600
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            metrics = out / "metrics.jsonl"
            logged = len(read_jsonl(metrics)) if metrics.is_file() else 0
            if logged > save and (out / f"checkpoint-{save}" / "trainer_state.json").is_file():
                kill_tree(proc.pid)
                killed_after = logged
                break
            time.sleep(0.05)
    finally:
        kill_tree(proc.pid)
        proc.wait()
        log.close()
    assert killed_after is not None, (tmp_path / "first.log").read_text()[-4000:]
    assert killed_after < steps and not (out / "final").exists(), "the run ended before it was killed"

    from medzero.train.rundir import last_checkpoint

    ckpt = last_checkpoint(out)
    assert json.loads((out / "run_info.json").read_text())["status"] == "running"  # kill -9 leaves no word
    run(cmd + train_args(recipe, out, "--resume"))
    check_run(out, steps, save, warm_model)  # includes: every step logged exactly once
    resumed = json.loads((out / "run_info.json").read_text())["resumed_from"]
    assert resumed == [{"checkpoint": ckpt[0].name, "step": ckpt[1]}] and ckpt[1] >= save


def kill_tree(pid: int) -> None:
    """SIGKILL a launch and every process under it (torchrun starts its workers in their own
    sessions, so killing the launcher's process group would leave them running)."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.send_signal(signal.SIGKILL)
    psutil.wait_procs(procs, timeout=30)


def multinode_configs(tmp_path: Path) -> list[Path]:
    """recipes/accelerate/multinode.yaml for machine 0 and 1 on this machine: only the rank and
    the main machine's address differ from the shipped file."""
    shipped = yaml.safe_load((ACCEL / "multinode.yaml").read_text())
    paths = []
    for rank in (0, 1):
        cfg = {**shipped, "machine_rank": rank, "main_process_ip": "127.0.0.1"}
        paths.append(tmp_path / f"node{rank}.yaml")
        paths[-1].write_text(yaml.safe_dump(cfg))
    return paths


@pytest.mark.parametrize(
    "mode",
    [
        pytest.param(["--multi_gpu"], id="ddp"),
        pytest.param(["--zero_stage", "2", "--zero3_init_flag", "false"], id="zero2"),
    ],
)
def test_multinode_loopback(warm_model, tmp_path, mode):
    """Two launches, one "node" each, on 127.0.0.1, train together into one (shared) run directory."""
    recipe, out = write_recipe(tmp_path / "r.yaml", warm_model, steps=2, save_steps=2), tmp_path / "run"
    port = str(free_port())
    procs = []
    for rank, config in enumerate(multinode_configs(tmp_path)):
        cmd = accelerate(config, "--num_processes", "2", "--main_process_port", port, *mode)
        log = (tmp_path / f"node{rank}.log").open("w")
        procs.append(
            (
                subprocess.Popen(
                    cmd + train_args(recipe, out), env=ENV, stdout=log, stderr=subprocess.STDOUT
                ),
                log,
            )
        )
    for proc, log in procs:
        try:
            proc.wait(timeout=600)
        finally:
            if proc.poll() is None:
                proc.kill()
            log.close()
    for rank, (proc, _) in enumerate(procs):
        assert proc.returncode == 0, (tmp_path / f"node{rank}.log").read_text()[-4000:]
    check_run(out, 2, 2, warm_model, zero=mode[0] != "--multi_gpu")

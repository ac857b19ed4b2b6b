"""GPU-only questions for a lent device, run by ``bench/gpu_check.sh`` after its main check:

* one ZeRO-3 GRPO step on one GPU (``accelerate launch --config_file recipes/accelerate/zero3.yaml
  --num_processes 1``: DeepSpeed's CUDA path, partitioned parameters, 16-bit gather on save);
* LoRA and QLoRA (4-bit base, bitsandbytes) GRPO steps on CUDA;
* TRL's continuous-batching ("paged") generation (``use_transformers_continuous_batching``, the
  new name of ``use_transformers_paged``) against plain ``generate``, same model and settings.

Every case runs in its own process through medzero's training runner (``recipes/tiny-cpu.yaml``
with ``--set``-style overrides), so a failing case is recorded with its error and the others still
run. Writes ``OUT/gpu_scale.json`` and prints a Markdown table (seconds per step: median after
the first step; peak memory of the training process).

    python bench/gpu_scale.py OUT MODEL_DIR          # MODEL_DIR: a local model, e.g. gpu_check.sh's
    python bench/gpu_scale.py OUT MODEL_DIR --cpu    # smoke run of the non-CUDA cases on a CPU
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: case -> extra overrides (on top of the common ones)
CASES: dict[str, list[str]] = {
    "plain_generate": [],
    "paged_generate": ["grpo.use_transformers_continuous_batching=true"],
    "lora": ["peft.enabled=true", "grpo.learning_rate=1e-4"],
    "qlora": ["peft.load_in_4bit=true", "peft.bnb_4bit_compute_dtype=bfloat16", "grpo.learning_rate=1e-4"],
    "zero3": [],
}
CUDA_ONLY = {"qlora", "zero3"}


def overrides(model: str, steps: int, batch: int, ngen: int, maxlen: int, cuda: bool) -> list[str]:
    common = [
        f"model.name_or_path={model}",
        "warmup.enabled=false",
        "guard.action=off",
        f"grpo.max_steps={steps}",
        f"grpo.per_device_train_batch_size={batch}",
        f"grpo.num_generations={ngen}",
        f"grpo.max_completion_length={maxlen}",
        "grpo.save_strategy=no",
    ]
    return common + (["grpo.use_cpu=false", "grpo.bf16=true"] if cuda else [])


def run_case(name: str, out: Path, sets: list[str]) -> None:
    """In this process: train, then print one JSON line with timings and peak memory."""
    import torch

    from medzero.jsonl import iter_jsonl
    from medzero.train.recipe import load_recipe
    from medzero.train.runner import train

    recipe = load_recipe(ROOT / "recipes" / "tiny-cpu.yaml", sets)
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    info = train(recipe, out, progress=False)
    wall = time.perf_counter() - t0
    times = [m["step_time"] for _, m in iter_jsonl(out / "metrics.jsonl") if "step_time" in m]
    if int(os.environ.get("RANK", "0")) == 0:
        result = {
            "case": name,
            "status": info["status"],
            "steps": info["global_step"],
            "world_size": info["world_size"],
            "loaded_in_4bit": info.get("loaded_in_4bit"),
            "wall_s": round(wall, 2),
            "step_s_median": round(statistics.median(times[1:] or times), 3) if times else None,
            "peak_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
        }
        print("GPU_SCALE_RESULT " + json.dumps(result), flush=True)


def launch(name: str, out: Path, sets: list[str], timeout: int) -> dict:
    """Run one case in a fresh process (``accelerate launch`` with ZeRO-3 for ``zero3``)."""
    me = [str(Path(__file__).resolve()), "--case", name, str(out), *sets]
    if name == "zero3":
        exe = shutil.which("accelerate", path=str(Path(sys.executable).parent)) or "accelerate"
        cmd = [
            exe,
            "launch",
            "--config_file",
            str(ROOT / "recipes/accelerate/zero3.yaml"),
            "--num_processes",
            "1",
        ]
        cmd += ["--main_process_port", "29533", *me]
    else:
        cmd = [sys.executable, *me]
    t0 = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"case": name, "status": "timeout", "wall_s": timeout}
    for line in done.stdout.splitlines():
        if line.startswith("GPU_SCALE_RESULT "):
            return json.loads(line.split(" ", 1)[1])
    return {
        "case": name,
        "status": f"failed (exit {done.returncode})",
        "wall_s": round(time.perf_counter() - t0, 2),
        "error": (done.stderr or done.stdout)[-2500:],
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--case":
        name, out, sets = sys.argv[2], Path(sys.argv[3]), sys.argv[4:]
        run_case(name, out, sets)
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("model", help="local model folder (gpu_check.sh builds one)")
    ap.add_argument("--cpu", action="store_true", help="smoke run without CUDA (CUDA-only cases skipped)")
    ap.add_argument("--steps", type=int, default=int(os.environ.get("SCALE_STEPS", 3)))
    ap.add_argument("--batch", type=int, default=int(os.environ.get("BATCH", 64)))
    ap.add_argument("--ngen", type=int, default=int(os.environ.get("NGEN", 8)))
    ap.add_argument("--maxlen", type=int, default=int(os.environ.get("MAXLEN", 64)))
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("SCALE_TIMEOUT", 600)))
    args = ap.parse_args()
    import torch

    cuda = torch.cuda.is_available()
    if not cuda and not args.cpu:
        sys.exit("no CUDA device (pass --cpu for a smoke run of the non-CUDA cases)")
    sets = overrides(args.model, args.steps, args.batch, args.ngen, args.maxlen, cuda)
    results = []
    for name, extra in CASES.items():
        if name in CUDA_ONLY and not cuda:
            results.append({"case": name, "status": "skipped (needs CUDA)"})
            continue
        res = launch(name, args.out / name, sets + extra, args.timeout)
        print(f"{name}: {json.dumps({k: v for k, v in res.items() if k != 'error'})}", flush=True)
        results.append(res)
    device = torch.cuda.get_device_name() if cuda else "cpu"
    report = {"device": device, "torch": torch.__version__, "settings": vars(args) | {"out": str(args.out)}}
    report["cases"] = results
    (args.out / "gpu_scale.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    by = {r["case"]: r for r in results}
    print(f"\n{device}: {args.steps} GRPO steps x {args.batch} completions x {args.maxlen} tokens per case")
    print("| case | status | s/step (median after step 1) | peak GPU memory (GiB) |")
    print("|---|---|---:|---:|")
    for r in results:
        print(f"| {r['case']} | {r['status']} | {r.get('step_s_median', '-')} | {r.get('peak_gib', '-')} |")
    plain, paged = by["plain_generate"].get("step_s_median"), by["paged_generate"].get("step_s_median")
    if plain and paged:
        print(f"\ncontinuous batching ('paged') vs plain generate: {paged / plain:.2f}x the time per step")


if __name__ == "__main__":
    main()

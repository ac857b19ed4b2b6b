"""The vision-language GRPO step of ``bench/gpu_check.sh``: the tiny VLM, built locally by
``medzero model tiny-vlm`` (no download), trains a few GRPO steps on synthetic scans
(``medzero.data.synthetic_scans``: the answer is only in the picture) through medzero's training
runner, with the images going through the processor, TRL's ``images`` path and the vision tower.

Writes ``OUT/gpu_check_vlm.json`` and prints a Markdown row: seconds per step (median after the
first step, as the script's other steps), peak GPU memory, and the image load per step.

    python bench/gpu_check_vlm.py OUT            # on CUDA
    python bench/gpu_check_vlm.py OUT --cpu      # smoke run on a CPU (fp32)

Settings (flags, or the environment of gpu_check.sh): --steps (VLM_STEPS, 2), --scans
(VLM_SCANS, 16 questions), --batch (VLM_BATCH, 8 completions per device and step), --ngen
(VLM_NGEN, 4 completions per question), --maxlen (VLM_MAXLEN, 32 new tokens), --image-size
(VLM_IMAGE_SIZE, 32 pixels: (32 / 8)^2 = 16 image tokens per scan).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PATCH = 8  # the tiny VLM's default patch side (pixels): one image token per patch


def vlm_recipe(model: Path, data: Path, args: argparse.Namespace, cuda: bool) -> dict[str, Any]:
    """The training recipe (a raw mapping for ``recipe_from_dict``). An untrained model is never
    right, so an ``overlong`` reward (in characters) gives the groups a reward spread: the update
    then has gradients, as a real step has."""
    return {
        "model": {"name_or_path": str(model)},
        "data": {"path": str(data)},
        "rewards": {"accuracy": 1.0, "format": 0.2, "overlong": 1.0},
        "reward_params": {"overlong": {"max_completion_length": 60, "cache_length": 59, "unit": "chars"}},
        "guard": {"action": "off"},
        "grpo": {
            "num_generations": args.ngen,
            "per_device_train_batch_size": args.batch,
            "max_completion_length": args.maxlen,
            "max_steps": args.steps,
            "learning_rate": 1e-3,
            "gradient_checkpointing": False,
            "save_strategy": "no",
            "seed": 0,
            "use_cpu": not cuda,
            "bf16": cuda,
        },
    }


def summarize(metrics: list[dict[str, Any]], info: dict[str, Any], wall: float, peak: float | None) -> dict:
    """Seconds per step (median after the first step, whose CUDA/kernel warm-up is not steady
    state; the only step when there is one) and the run's status."""
    times = [m["step_time"] for m in metrics if "step_time" in m]
    return {
        "status": info["status"],
        "steps": info["global_step"],
        "wall_s_with_loading": round(wall, 2),
        "step_s_median": round(statistics.median(times[1:] or times), 3) if times else None,
        "peak_gib": peak,
    }


def main(argv: list[str] | None = None) -> dict:
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--cpu", action="store_true", help="smoke run without CUDA (fp32)")
    ap.add_argument("--steps", type=int, default=int(env("VLM_STEPS", 2)))
    ap.add_argument("--scans", type=int, default=int(env("VLM_SCANS", 16)))
    ap.add_argument("--batch", type=int, default=int(env("VLM_BATCH", 8)))
    ap.add_argument("--ngen", type=int, default=int(env("VLM_NGEN", 4)))
    ap.add_argument("--maxlen", type=int, default=int(env("VLM_MAXLEN", 32)))
    ap.add_argument("--image-size", type=int, default=int(env("VLM_IMAGE_SIZE", 32)))
    args = ap.parse_args(argv)
    import torch

    cuda = torch.cuda.is_available()
    if not cuda and not args.cpu:
        sys.exit("no CUDA device (pass --cpu for a smoke run)")
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    model = out / "model"
    subprocess.run(  # the CLI a user runs; no download
        [sys.executable, "-m", "medzero.cli", "model", "tiny-vlm", "--out", str(model),
         "--image-size", str(args.image_size), "--patch-size", str(PATCH)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    build_s = time.perf_counter() - t0
    from medzero.data.synthetic_scans import write_scans
    from medzero.jsonl import iter_jsonl
    from medzero.train.recipe import recipe_from_dict
    from medzero.train.runner import train

    write_scans(out / "scans", args.scans, seed=0, size=args.image_size)
    recipe = recipe_from_dict(vlm_recipe(model, out / "scans" / "scans.jsonl", args, cuda))
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    info = train(recipe, out / "run", progress=False)
    wall = time.perf_counter() - t0
    peak = round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None
    metrics = [m for _, m in iter_jsonl(out / "run" / "metrics.jsonl")]
    tokens = (args.image_size // PATCH) ** 2
    device = torch.cuda.get_device_name() if cuda else "cpu"
    res = {
        "device": device,
        "torch": torch.__version__,
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "parameters": json.loads((model / "medzero_tiny_vlm.json").read_text())["parameters"],
        "build_s": round(build_s, 2),
        "image_tokens_per_completion": tokens,
        "images_per_step": args.batch,
        "train": summarize(metrics, info, wall, peak),
    }
    (out / "gpu_check_vlm.json").write_text(json.dumps(res, indent=2) + "\n")
    t = res["train"]
    print(f"\n{device}: tiny VLM ({res['parameters'] / 1e6:.2f}M parameters), {tokens} image tokens per scan")
    print("| stage | status | s/step (median after step 1) | peak GPU memory (GiB) |")
    print("|---|---|---:|---:|")
    print(f"| VLM GRPO ({args.steps} steps x {args.batch} completions with one {args.image_size}px image x "
          f"{args.maxlen} tokens) | {t['status']} | {t['step_s_median']} | {t['peak_gib']} |")  # fmt: skip
    return res


if __name__ == "__main__":
    main()

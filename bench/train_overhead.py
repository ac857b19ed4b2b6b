"""medzero train vs a minimal plain-TRL script: the same tiny GRPO config, steps/s side by side.

Both arms train the locally built tiny model on the same synthetic questions with the same
reward functions, GRPOConfig and seed; the medzero arm goes through ``medzero.train.runner.train``
(pre-flight checks, metrics.jsonl, completions.jsonl capture, collapse guard), the plain arm
calls ``GRPOTrainer.train()`` directly. Arms alternate (plain, medzero, plain, ...) and the best
round of each is compared, which damps the noise of a shared machine.

    .venv/bin/python bench/train_overhead.py --steps 10 --rounds 3

Prints a table and the ratio; ``main()`` returns the numbers as a dict.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("MEDZERO_NO_PROGRESS", "1")

from transformers import TrainerCallback

GRPO = {
    "num_generations": 4,
    "per_device_train_batch_size": 8,
    "max_completion_length": 16,
    "learning_rate": 1e-4,
    "beta": 0.0,
    "gradient_checkpointing": False,
    "bf16": False,
    "use_cpu": True,
    "seed": 0,
    "logging_steps": 1,
    "save_strategy": "no",
    "report_to": "none",
    "disable_tqdm": True,
}
REWARDS = {"accuracy": 1.0, "format": 0.2}


class LoopTimer(TrainerCallback):
    """Wall and CPU time of the training loop alone (``on_train_begin`` -> ``on_train_end``); CPU
    time is less disturbed by other processes on a shared machine than wall time."""

    def on_train_begin(self, args, state, control, **kw):
        self.t0, self.c0 = time.perf_counter(), time.process_time()

    def on_train_end(self, args, state, control, **kw):
        self.wall, self.cpu = time.perf_counter() - self.t0, time.process_time() - self.c0


def plain_trl(model_dir: Path, steps: int, questions: int, out: Path) -> dict[str, float]:
    """The minimal script a user would write with TRL alone."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from medzero.data.rows import mcq_to_row
    from medzero.data.synthetic import drug_class_questions
    from medzero.rewards import build_reward_funcs

    t0 = time.perf_counter()
    rows = [mcq_to_row(q) for q in drug_class_questions(questions, seed=0)]
    funcs, weights = build_reward_funcs(REWARDS)
    args = GRPOConfig(output_dir=str(out), max_steps=steps, reward_weights=weights, **GRPO)
    trainer = GRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(model_dir),
        reward_funcs=funcs,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=AutoTokenizer.from_pretrained(model_dir),
    )
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # medzero prints nothing per step either
    timer = LoopTimer()
    trainer.add_callback(timer)
    trainer.train()
    return {"train_s": timer.wall, "cpu_s": timer.cpu, "total_s": time.perf_counter() - t0}


def medzero_train(model_dir: Path, steps: int, questions: int, out: Path) -> dict[str, float]:
    from medzero.train.recipe import recipe_from_dict
    from medzero.train.runner import train

    recipe = recipe_from_dict(
        {
            "model": {"name_or_path": str(model_dir)},
            "data": {"synthetic": questions},
            "rewards": REWARDS,
            "grpo": {**GRPO, "max_steps": steps},
        }
    )
    timer = LoopTimer()
    t0 = time.perf_counter()
    train(recipe, out, progress=False, callbacks=[timer])
    total = time.perf_counter() - t0
    lines = (out / "completions.jsonl").read_text().count("\n")
    return {"train_s": timer.wall, "cpu_s": timer.cpu, "total_s": total, "completion_lines": lines}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--questions", type=int, default=64)
    args = ap.parse_args(argv)

    import torch

    from medzero.models.tiny import ensure_tiny_model

    torch.set_num_threads(1)  # one thread: CPU time ~ wall time on an idle machine
    model_dir = ensure_tiny_model()
    runs: dict[str, list[dict[str, float]]] = {"plain_trl": [], "medzero": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name, fn in (("plain_trl", plain_trl), ("medzero", medzero_train)):
                runs[name].append(fn(model_dir, args.steps, args.questions, Path(tmp) / f"{name}-{r}"))
    best = {name: min(rs, key=lambda x: x["train_s"]) for name, rs in runs.items()}
    sps = {name: args.steps / b["train_s"] for name, b in best.items()}
    cpu = {name: min(r["cpu_s"] for r in rs) for name, rs in runs.items()}
    result = {
        "steps": args.steps,
        "rounds": args.rounds,
        "steps_per_s": sps,
        "train_loop_ratio": sps["plain_trl"] / sps["medzero"],  # > 1: medzero is slower
        "overhead_pct": 100 * (sps["plain_trl"] / sps["medzero"] - 1),
        "cpu_s": cpu,
        "cpu_ratio": cpu["medzero"] / cpu["plain_trl"],
        "end_to_end_s": {name: b["total_s"] for name, b in best.items()},
        "all_rounds": runs,
        "load_avg": os.getloadavg()[0],
    }
    print(
        f"{'arm':<10} {'steps/s':>8} {'train s':>8} {'cpu s':>8} {'total s':>8}  train s / cpu s of every round"
    )
    for name, b in best.items():
        rounds = " ".join(f"{r['train_s']:.1f}/{r['cpu_s']:.1f}" for r in runs[name])
        print(
            f"{name:<10} {sps[name]:>8.3f} {b['train_s']:>8.2f} {cpu[name]:>8.2f} {b['total_s']:>8.2f}  {rounds}"
        )
    print(
        f"training loop medzero/plain: wall {result['train_loop_ratio']:.3f} "
        f"(overhead {result['overhead_pct']:+.1f}%), CPU time {result['cpu_ratio']:.3f}; "
        f"load avg {result['load_avg']:.1f}"
    )
    print(json.dumps({k: v for k, v in result.items() if k != "all_rounds"}))
    return result


if __name__ == "__main__":
    main()

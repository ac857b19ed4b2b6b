"""Curriculum experiment on the tiny demo task: random order vs easy-to-hard vs dynamic sampling.

Every arm starts from the same format-warmed tiny model, trains with the same seed, the same GRPO
settings and the same number of optimizer steps through ``medzero train``'s runner, and is then
scored greedily on the same held-out questions (disjoint drug names) with ``medzero eval``'s
engine. The script prints, and writes to ``OUT/results.md`` / ``OUT/results.json``:

* held-out accuracy (strict extraction) with its 95% bootstrap CI, per arm and seed;
* the paired difference to the random-order arm on the same questions (paired bootstrap CI);
* the mean accuracy reward over the first and the last 10 training steps (from metrics.jsonl);
* how many groups per step had zero reward variance, and how many were filtered.

Arms (the recipe sections they add):

* ``random``        — none (TRL's shuffled sampler);
* ``easy_to_hard``  — ``curriculum: {order: easy_to_hard}`` on grades from ``medzero data grade``
  (K=8 samples per question from the warmed-up model);
* ``dynamic``       — ``dynamic_sampling: {filter: resample}`` (DAPO-style: flat groups replaced
  by fresh questions, then masked; online re-grading on).

Everything is cached under OUT, so a rerun continues where it stopped::

    .venv/bin/python bench/curriculum.py --out bench-out/curriculum --steps 80 --seeds 0
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("MEDZERO_NO_PROGRESS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ARMS: dict[str, dict[str, Any]] = {
    "random": {},
    "easy_to_hard": {"curriculum": {"order": "easy_to_hard"}},
    "dynamic": {"dynamic_sampling": {"filter": "resample", "max_resample_rounds": 1}},
}
TEMPLATE = "plain"  # short prompts on 2 CPU cores; warm-up, grading, training and eval all use it
MAX_NEW = 24


def grpo_settings(steps: int, seed: int) -> dict[str, Any]:
    """The tiny-cpu recipe's GRPO settings (see recipes/tiny-cpu.yaml), with the step budget given."""
    return {
        "learning_rate": 7.0e-4,
        "lr_scheduler_type": "constant",
        "beta": 0.0,
        "loss_type": "dapo",
        "num_generations": 8,
        "per_device_train_batch_size": 64,
        "max_completion_length": MAX_NEW,
        "temperature": 0.8,
        "max_grad_norm": 1.0,
        "max_steps": steps,
        "gradient_checkpointing": False,
        "bf16": False,
        "use_cpu": True,
        "seed": seed,
        "save_strategy": "no",
    }


def write_questions(out: Path, n_train: int, n_heldout: int) -> tuple[Path, Path, list]:
    from medzero.data.synthetic import drug_class_questions
    from medzero.jsonl import write_jsonl

    train = drug_class_questions(n_train, seed=0, split="train")
    heldout = drug_class_questions(n_heldout, seed=0, split="heldout")
    write_jsonl(out / "train_questions.jsonl", [m.to_dict() for m in train])
    write_jsonl(out / "heldout.jsonl", [m.to_dict() for m in heldout])
    return out / "train_questions.jsonl", out / "heldout.jsonl", train


def warm_up(out: Path, train: list) -> Path:
    from medzero.data.prompts import PromptConfig
    from medzero.models.tiny import ensure_tiny_model
    from medzero.train.warmup import run_format_warmup

    target = out / "warmup"
    if not (target / "config.json").is_file():
        run_format_warmup(
            ensure_tiny_model(), train, target, steps=150, seed=0, prompt_cfg=PromptConfig(TEMPLATE)
        )
    return target


def grade_questions(out: Path, questions: Path, model: Path) -> dict[str, Any]:
    from medzero.curriculum.grade import GradeConfig, grade

    cfg = GradeConfig(
        dataset=str(questions),
        model=str(model),
        out=str(out / "graded"),
        k=8,
        temperature=0.8,
        max_new_tokens=MAX_NEW,
        template=TEMPLATE,
        device="cpu",
        batch_size=64,
    )
    return grade(cfg)["grade"]


def train_arm(run: Path, model: Path, graded: Path, arm: str, steps: int, seed: int) -> float:
    from medzero.train.recipe import recipe_from_dict
    from medzero.train.runner import train

    info = run / "run_info.json"
    if info.is_file() and json.loads(info.read_text()).get("status") == "finished":
        return float(json.loads(info.read_text()).get("wall_s", 0.0))
    raw = {
        "model": {"name_or_path": str(model), "dtype": "float32"},
        "data": {"path": str(graded / "train.jsonl"), "prompt": {"template": TEMPLATE}},
        "rewards": {"accuracy": 1.0, "format": 0.2},
        "guard": {"action": "warn"},
        "grpo": grpo_settings(steps, seed),
        **ARMS[arm],
    }
    t0 = time.perf_counter()
    train(recipe_from_dict(raw, source=f"bench:{arm}"), run, progress=False)
    wall = time.perf_counter() - t0
    data = json.loads(info.read_text())
    data["wall_s"] = wall
    info.write_text(json.dumps(data, indent=2))
    return wall


def evaluate_arm(run: Path, heldout: Path) -> dict[str, Any]:
    from medzero.evaluate.config import EvalConfig
    from medzero.evaluate.runner import evaluate

    summary = evaluate(
        EvalConfig(
            model=str(run / "final"),
            out=str(run / "eval"),
            benchmarks=[f"file:{heldout}"],
            template=TEMPLATE,
            max_new_tokens=MAX_NEW,
            device="cpu",
            batch_size=64,
        )
    )
    subset = next(iter(summary.benchmarks.values())).subsets[0]
    metric = next(iter(subset.metrics))
    iv = subset.metrics[metric]["strict"]
    return {"metric": metric, "acc": iv.estimate, "low": iv.low, "high": iv.high, "n": iv.n}


def curve_stats(run: Path) -> dict[str, float]:
    from medzero.jsonl import iter_jsonl

    rows = [r for _, r in iter_jsonl(run / "metrics.jsonl") if "rewards/accuracy/mean" in r]
    acc = [r["rewards/accuracy/mean"] for r in rows]

    def mean(xs: list[float]) -> float:
        return sum(xs) / len(xs) if xs else float("nan")

    rolling = [mean(acc[max(0, i - 4) : i + 1]) for i in range(len(acc))]
    reach = next((rows[i]["step"] for i, v in enumerate(rolling) if i >= 4 and v >= 0.8), None)
    return {
        "steps": len(rows),
        "step_to_0.8": reach,
        "acc_first10": mean(acc[:10]),
        "acc_last10": mean(acc[-10:]),
        "zero_std_groups": flat_groups_per_step(run),
        "filtered_groups": mean([r.get("curriculum/filtered_groups", 0.0) for r in rows]),
    }


def flat_groups_per_step(run: Path) -> float:
    """Groups per step whose total rewards were all equal, from completions.jsonl.

    Counted here rather than from TRL's ``frac_reward_zero_std``, which tests ``isclose(std, 0)``
    with atol 1e-8 and so misses flat groups whose reward is not exact in float32 (1.2 = 1 + 0.2).
    """
    from collections import defaultdict

    from medzero.jsonl import iter_jsonl

    groups: dict[tuple[int, str], list[float]] = defaultdict(list)
    for _, c in iter_jsonl(run / "completions.jsonl"):
        groups[(c["step"], c["prompt_id"])].append(c["reward"])
    steps = {step for step, _ in groups}
    flat = sum(max(v) - min(v) <= 1e-6 for v in groups.values())
    return flat / max(len(steps), 1)


def paired_vs(run: Path, base: Path) -> dict[str, float]:
    from medzero.evaluate.compare import compare_runs

    d = next(x for x in compare_runs(run / "eval", base / "eval") if x.mode == "strict")
    return {"diff": d.diff.estimate, "low": d.diff.low, "high": d.diff.high, "n": d.n_shared}


def to_markdown(results: list[dict[str, Any]], header: dict[str, Any]) -> str:
    lines = [
        f"Tiny model, synthetic drug-class task: {header['n_train']} training questions, "
        f"{header['n_heldout']} held-out questions (unseen drug names), {header['steps']} GRPO steps of "
        f"8 questions x 8 completions, seeds {header['seeds']}. Grades (K=8, T=0.8, warmed-up model): "
        + ", ".join(f"{b} {n}" for b, n in header["bins"].items())
        + ".",
        "",
        "| arm | seed | held-out acc (strict) [95% CI] | vs random, paired [95% CI] | train acc reward, "
        "first 10 / last 10 steps | first step with 5-step mean >= 0.8 | flat groups / step "
        "| filtered / step | wall (s) |",
        "|---|---:|---|---|---|---:|---:|---:|---:|",
    ]
    for r in results:
        e, c, p = r["eval"], r["curve"], r.get("vs_random")
        vs = f"{100 * p['diff']:+.1f} [{100 * p['low']:+.1f}, {100 * p['high']:+.1f}]" if p else "—"
        lines.append(
            f"| {r['arm']} | {r['seed']} | {100 * e['acc']:.1f} [{100 * e['low']:.1f}, {100 * e['high']:.1f}] "
            f"| {vs} | {c['acc_first10']:.2f} / {c['acc_last10']:.2f} | {c['step_to_0.8'] or 'never'} "
            f"| {c['zero_std_groups']:.1f} "
            f"| {c['filtered_groups']:.1f} | {r['wall_s']:.0f} |"
        )
    arms = list(dict.fromkeys(r["arm"] for r in results))
    if len({r["seed"] for r in results}) > 1:
        lines += [
            "",
            "| arm | seeds | mean held-out acc | mean first step >= 0.8 (never = budget + 1) |",
            "|---|---:|---:|---:|",
        ]
        for arm in arms:
            rs = [r for r in results if r["arm"] == arm]
            acc = sum(r["eval"]["acc"] for r in rs) / len(rs)
            reach = [r["curve"]["step_to_0.8"] or header["steps"] + 1 for r in rs]
            lines.append(f"| {arm} | {len(rs)} | {100 * acc:.1f} | {sum(reach) / len(reach):.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path("bench-out/curriculum"))
    ap.add_argument("--steps", type=int, default=150, help="GRPO steps per arm (the tiny-cpu recipe: 150)")
    ap.add_argument("--seeds", type=str, default="0", help="comma-separated training seeds")
    ap.add_argument("--n-train", type=int, default=512)
    ap.add_argument("--n-heldout", type=int, default=200)
    ap.add_argument("--arms", type=str, default=",".join(ARMS))
    args = ap.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]

    questions, heldout, train = write_questions(out, args.n_train, args.n_heldout)
    model = warm_up(out, train)
    grades = grade_questions(out, questions, model)
    results = []
    for seed in seeds:
        for arm in args.arms.split(","):
            run = out / "runs" / f"{arm}-s{seed}"
            wall = train_arm(run, model, out / "graded", arm, args.steps, seed)
            res = {"arm": arm, "seed": seed, "wall_s": wall, "eval": evaluate_arm(run, heldout)}
            res["curve"] = curve_stats(run)
            base = out / "runs" / f"random-s{seed}"
            if arm != "random" and (base / "eval" / "items.jsonl").is_file():
                res["vs_random"] = paired_vs(run, base)
            results.append(res)
            print(json.dumps(res), flush=True)
    header = {
        "n_train": args.n_train,
        "n_heldout": args.n_heldout,
        "steps": args.steps,
        "seeds": seeds,
        "bins": grades["bins"],
        "mean_pass_rate": grades["mean_pass_rate"],
    }
    (out / "results.json").write_text(json.dumps({"header": header, "results": results}, indent=2))
    table = to_markdown(results, header)
    (out / "results.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()

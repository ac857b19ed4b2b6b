"""Task battery: does ONE general recipe learn structurally different rule tasks, on every seed?

For every task of :mod:`medzero.data.synthetic_tasks` and every seed, this script

1. writes ``OUT/data/TASK-sS/{train,heldout,validation}.jsonl`` (medzero JSONL; disjoint rule items);
2. trains through the command line exactly as a user would, with no task-specific setting::

       medzero train RECIPE --set data.path=train.jsonl --set grpo.seed=S --out OUT/runs/TASK-sS

   (``model.name_or_path: tiny`` builds the tokenizer from that training file), plus
   ``--set validation.benchmark=file:validation.jsonl`` (training-split questions that are not
   training questions) so the run keeps ``RUN_DIR/best`` by validation accuracy;
3. scores the warmed-up model and the trained models (``best`` and ``final``) on the held-out
   file with the evaluation engine (greedy, the recipe's prompt template and completion cap;
   strict / last / lenient extraction, 95% bootstrap CIs).

Results go to ``OUT/results.jsonl`` (one line per task, seed and checkpoint; a rerun skips what is
done) and the table to ``OUT/tasks.md``. Two runs go in parallel with ``--jobs 2``; each training
process uses one torch thread.

    python bench/tasks.py --out bench/tasks-out --jobs 2
    python bench/tasks.py --tasks drug-suffix --seeds 0 --out /tmp/t   # one run
    python bench/tasks.py --warmups bench/tasks-out --out /tmp/t2      # GRPO again, same warm-ups

The shuffled-option task is a measured limit, not a goal: a from-scratch model of this size has to
match option text there (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from medzero.data.synthetic_tasks import TASKS, task_questions  # noqa: E402
from medzero.jsonl import iter_jsonl, write_jsonl  # noqa: E402

# Options per task: the battery covers 4 to 10 options (MedXpertQA has 10).
N_OPTIONS = {
    "drug-suffix": 4,
    "term-prefix": 8,
    "vignette-keyword": 10,
    "lab-threshold": 4,
    "drug-suffix-shuffled": 4,
}
GOAL = 0.9


def write_task_data(task: str, seed: int, n_train: int, n_heldout: int, out: Path) -> tuple[Path, Path, Path]:
    """train.jsonl, heldout.jsonl and validation.jsonl (training-split questions that are not
    training questions: they select RUN_DIR/best without touching the held-out items)."""
    out.mkdir(parents=True, exist_ok=True)
    k = N_OPTIONS.get(task)
    train_q = task_questions(task, n_train, seed, "train", k)
    seen = {q.question for q in train_q}
    val_q = [q for q in task_questions(task, 400, seed + 1_000_003, "train", k) if q.question not in seen]
    train, held, val = out / "train.jsonl", out / "heldout.jsonl", out / "validation.jsonl"
    write_jsonl(train, [q.to_dict() for q in train_q])
    write_jsonl(held, [q.to_dict() for q in task_questions(task, n_heldout, seed, "heldout", k)])
    write_jsonl(val, [q.to_dict() for q in val_q[:100]])
    return train, held, val


def medzero_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("medzero")
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "medzero"]


def train_run(recipe: Path, train: Path, seed: int, run: Path, extra: list[str], log: Path) -> int:
    """``medzero train`` in a subprocess (one torch thread); returns its exit status."""
    if (run / "run_info.json").is_file() and '"status": "running"' not in (run / "run_info.json").read_text():
        return 0
    cmd = [*medzero_cmd(), "train", str(recipe), "--set", f"data.path={train}", "--set", f"grpo.seed={seed}"]
    for s in extra:
        cmd += ["--set", s]
    cmd += ["--out", str(run)]
    if run.exists() and (run / "metrics.jsonl").exists():
        cmd.append("--resume")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MEDZERO_NO_PROGRESS": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    with log.open("a") as fh:
        fh.write(" ".join(cmd) + "\n")
        fh.flush()
        return subprocess.call(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)


def score(model: Path, heldout: Path, recipe: Any, out: Path) -> dict[str, Any]:
    """Held-out scores of one model (strict/last/lenient with 95% CIs) via the evaluation engine."""
    from medzero.demo.run import evaluate_model, scores_of

    summary = evaluate_model(model, out, [f"file:{heldout}"], recipe)
    return next(iter(scores_of(summary).values()))


def reused_warmup(warmups: Path | None, name: str) -> Path | None:
    """This run's warm-up in ``warmups`` (an earlier battery's OUT), if it holds one.

    The warm-up is deterministic per seed and machine, so a GRPO-only change can be measured
    without training it again; the run's pre-flight refuses a warm-up with another tokenizer."""
    if warmups is None:
        return None
    warm = warmups / "runs" / name / "warmup"
    return warm if (warm / "config.json").is_file() else None


def one(task: str, seed: int, args: argparse.Namespace, done: set[tuple[str, int]]) -> list[dict[str, Any]]:
    if (task, seed) in done:
        return []
    from medzero.train.recipe import load_recipe

    name = f"{task}-s{seed}"
    train, held, val = write_task_data(task, seed, args.n_train, args.n_heldout, args.out / "data" / name)
    reuse = reused_warmup(args.warmups, name)
    from_ = [] if reuse is None else [f"warmup.from={reuse}"]
    sets = [f"validation.benchmark=file:{val}", f"validation.every={args.validate_every}", *from_, *args.set]
    run = args.out / "runs" / name
    run.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rc = train_run(args.recipe, train, seed, run, sets, args.out / "logs" / f"{name}.log")
    wall = round(time.perf_counter() - t0, 1)
    recipe = load_recipe(args.recipe, [f"data.path={train}", *sets])
    info = json.loads((run / "run_info.json").read_text()) if (run / "run_info.json").is_file() else {}
    rows = []
    for ckpt in ("warmup", "best", "final"):
        model = run / ckpt
        if ckpt == "warmup" and reuse is not None and not model.is_dir():
            model = reuse  # the reused warm-up is this run's starting point
        if not (model / "config.json").is_file():
            continue
        sc = score(model, held, recipe, args.out / "eval" / name / ckpt)
        rows.append(
            {
                "task": task,
                "seed": seed,
                "n_options": N_OPTIONS.get(task),
                "checkpoint": ckpt,
                "strict": sc["strict"],
                "lenient": sc["lenient"],
                "no_answer": sc["no_answer"],
                "exit_status": rc,
                "status": info.get("status"),
                "steps": info.get("global_step"),
                "train_seconds": wall,
                "warmup_reused": reuse is not None,
            }
        )
    if not rows:
        rows.append(
            {"task": task, "seed": seed, "checkpoint": None, "exit_status": rc, "train_seconds": wall}
        )
    with (args.out / "results.jsonl").open("a") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")
    print(name, [(r.get("checkpoint"), (r.get("strict") or {}).get("estimate")) for r in rows], flush=True)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown: per task and checkpoint, held-out strict accuracy per seed (95% CI), min-max."""
    by: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}
    for r in rows:
        if r.get("checkpoint"):
            by.setdefault((r["task"], r["checkpoint"]), {})[r["seed"]] = r
    lines = [
        "| task | options | model | held-out strict accuracy per seed (95% CI) | range | seeds >= 0.9 |",
        "|---|---:|---|---|---|---:|",
    ]
    for (task, ckpt), seeds in sorted(
        by.items(),
        key=lambda kv: (
            list(N_OPTIONS).index(kv[0][0]) if kv[0][0] in N_OPTIONS else 99,
            ["warmup", "best", "final"].index(kv[0][1]),
        ),
    ):
        cells, ests = [], []
        for s in sorted(seeds):
            st = seeds[s]["strict"]
            ests.append(st["estimate"])
            cells.append(f"s{s}: {st['estimate']:.3f} ({st['low']:.2f}-{st['high']:.2f})")
        hit = sum(e >= GOAL for e in ests)
        lines.append(
            f"| {task} | {N_OPTIONS.get(task, '')} | {ckpt} | {'; '.join(cells)} | "
            f"{min(ests):.3f}-{max(ests):.3f} | {hit}/{len(ests)} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", nargs="+", default=list(N_OPTIONS), choices=TASKS.names())
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--recipe", type=Path, default=ROOT / "recipes" / "tiny-cpu.yaml")
    p.add_argument("--n-train", type=int, default=512)
    p.add_argument("--n-heldout", type=int, default=200)
    p.add_argument("--validate-every", type=int, default=25, help="GRPO steps between validations (best).")
    p.add_argument("--jobs", type=int, default=1, help="Runs in parallel (each uses one torch thread).")
    p.add_argument(
        "--warmups",
        type=Path,
        default=None,
        help="An earlier battery's --out: start GRPO from its warm-ups (same seeds, same warm-up settings).",
    )
    p.add_argument("--set", action="append", default=[], help="Extra recipe override (experiments only).")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "tasks-out")
    args = p.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MEDZERO_NO_PROGRESS", "1")
    (args.out / "logs").mkdir(parents=True, exist_ok=True)
    res_file = args.out / "results.jsonl"
    done = {(r["task"], r["seed"]) for _, r in iter_jsonl(res_file)} if res_file.is_file() else set()
    jobs = [(t, s) for s in args.seeds for t in args.tasks]
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        list(pool.map(lambda ts: one(ts[0], ts[1], args, done), jobs))
    rows = [r for _, r in iter_jsonl(res_file)] if res_file.is_file() else []
    md = table(rows)
    (args.out / "tasks.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

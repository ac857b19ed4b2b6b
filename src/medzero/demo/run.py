"""``medzero demo``: the whole method end to end on a laptop CPU with the tiny local model.

1. build (or reuse from the cache) the tiny tokenizer + randomly initialised model;
2. prepare a training set and a held-out set of the synthetic drug-class task (disjoint drug
   names) with a manifest (:func:`medzero.data.prepare.prepare_from_mcqs`);
3. evaluate the untrained model on the held-out set (strict / last / lenient extraction);
4. a short supervised *format* warm-up (random answer letters: it teaches the tags, not the
   answers; evaluated too), then GRPO through ``medzero train`` on the shipped
   ``recipes/tiny-cpu.yaml``, with live reward and completion length;
5. evaluate again with confidence intervals and ``eval compare`` GRPO vs. warm-up (paired CI);
6. ``medzero analyze`` -> ``OUT/report.html``; print where everything is and the table.

Every stage calls the stage's Python API (no subprocesses). ``data_dir`` adds a 20-question slice
of every real benchmark found there, scored before and after GRPO: random-level sanity only, a
0.6M-parameter model knows no medicine.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.progress import TextColumn

from medzero.console import console, make_progress
from medzero.errors import ConfigError
from medzero.jsonl import write_jsonl
from medzero.outdir import OwnedFolder

RECIPE = Path(__file__).resolve().parents[3] / "recipes" / "tiny-cpu.yaml"
MODES = ("strict", "last", "lenient")


@dataclass
class DemoConfig:
    """Settings of ``medzero demo`` (``quick`` shrinks every size for CI)."""

    out: Path = field(default=Path("demo-out"), metadata={"help": "Output folder (must be new or a demo's)."})
    steps: int | None = field(
        default=None,
        metadata={"help": "Most GRPO steps (default 300, ends early at 100% validation; quick: 30)."},
    )
    seed: int = field(default=0, metadata={"help": "Seeds data, model, warm-up and GRPO."})
    quick: bool = field(default=False, metadata={"help": "Smaller run for CI (learning not guaranteed)."})
    data_dir: Path | None = field(
        default=None, metadata={"help": "Folder of real benchmarks: adds a random-level sanity slice."}
    )
    cache_dir: Path | None = field(
        default=None, metadata={"help": "Tiny-model cache ($MEDZERO_CACHE or ~/.cache/medzero)."}
    )
    recipe: Path = field(default=RECIPE, metadata={"help": "GRPO recipe (the tiny CPU recipe)."})
    n_train: int = field(default=512, metadata={"help": "Synthetic training questions."})
    n_heldout: int | None = field(default=None, metadata={"help": "Held-out questions (200; quick: 64)."})
    warmup_steps: int | None = field(default=None, metadata={"help": "Warm-up steps (300; quick: 60)."})
    n_validation: int = field(
        default=100,
        metadata={
            "help": "Validation questions scored during GRPO to keep run/best (drug names in neither the "
            "training nor the held-out questions)."
        },
    )
    validate_every: int | None = field(
        default=None, metadata={"help": "GRPO steps between validations (25; quick: 10)."}
    )
    sanity_limit: int = field(default=20, metadata={"help": "Questions per real benchmark (data_dir)."})
    overwrite: bool = field(
        default=False,
        metadata={"help": "Replace an earlier demo run in `out` (only a demo's folder is removed)."},
    )

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        self.steps = self.steps if self.steps is not None else (30 if self.quick else 300)
        self.n_heldout = self.n_heldout if self.n_heldout is not None else (64 if self.quick else 200)
        if self.validate_every is None:
            self.validate_every = 10 if self.quick else 25
        self.warmup_steps = (
            self.warmup_steps if self.warmup_steps is not None else (60 if self.quick else 300)
        )
        for name in ("steps", "n_train", "n_heldout", "warmup_steps", "sanity_limit", "n_validation",
                     "validate_every"):  # fmt: skip
            if getattr(self, name) < 1:
                raise ConfigError(f"demo: {name} must be >= 1, got {getattr(self, name)}")


@dataclass
class DemoResult:
    """What the demo produced (also written to ``OUT/demo.json``)."""

    paths: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    scores: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # model -> bench -> mode
    compare: list[dict[str, Any]] = field(default_factory=list)  # GRPO - warm-up, paired CIs
    learned: bool = False  # strict-mode held-out gain with its 95% CI above 0
    # held-out strict accuracy (fractions): before = after the warm-up, after = after GRPO (the
    # model named by after_model); final and, when the run kept one, best (validation-selected)
    heldout: dict[str, Any] = field(default_factory=dict)
    sanity_benchmarks: list[str] = field(default_factory=list)
    sanity_n: int = 0  # questions per real benchmark in the sanity slice


class _Stages:
    """Numbered stage headings and their wall times."""

    def __init__(self, total: int, timings: dict[str, float]):
        self.total, self.n, self.timings = total, 0, timings

    @contextmanager
    def stage(self, name: str, what: str) -> Iterator[None]:
        self.n += 1
        console.rule(f"[bold][{self.n}/{self.total}] {what}")
        t0 = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - t0, 2)
        console.print(f"[dim]{what}: {self.timings[name]:.1f} s[/]")


def sanity_benchmarks(data_dir: Path) -> list[str]:
    """The seed benchmarks whose file exists in ``data_dir``."""
    from medzero.errors import MedzeroError
    from medzero.evaluate.benchmarks import SEED_BENCHMARKS, find_file, get_benchmark

    found = []
    for name in SEED_BENCHMARKS:
        try:
            find_file(get_benchmark(name), data_dir)
        except MedzeroError:
            continue
        found.append(name)
    return found


def evaluate_model(model: str | Path, out: Path, benchmarks: list[str], recipe: Any, **kw: Any):
    """One ``medzero eval`` run, greedy, with the recipe's prompt template and completion cap."""
    from medzero.evaluate.config import EvalConfig
    from medzero.evaluate.runner import evaluate

    ecfg = EvalConfig(
        model=str(model),
        out=str(out),
        benchmarks=benchmarks,
        template=recipe.data.prompt.template,
        max_new_tokens=int(recipe.grpo.get("max_completion_length", 24)),
        batch_size=64,
        seed=int(recipe.grpo.get("seed", 0)),
        **kw,
    )
    return evaluate(ecfg)


def scores_of(summary: Any) -> dict[str, dict[str, Any]]:
    """benchmark -> {mode: score dict with estimate/low/high, no_answer} of an eval summary."""
    out: dict[str, dict[str, Any]] = {}
    for name, bench in summary.benchmarks.items():
        sub = bench.get("all")
        metric = summary.headline_metric
        out[name] = {mode: sub.metrics[metric][mode].to_dict() for mode in MODES}
        out[name]["no_answer"] = sub.no_answer
    return out


VALIDATION_FILE = "validation.jsonl"


def validation_questions(cfg: DemoConfig, train: list[Any]) -> list[Any]:
    """Drug-class questions for validation during GRPO: training-split names that no training
    question uses, so the held-out names stay untouched by model selection."""
    from medzero.data.synthetic import drug_class_questions

    seen = {q.meta["drug"] for q in train}
    pool = drug_class_questions(4 * cfg.n_validation, cfg.seed + 1_000_003, "train")
    out = [q for q in pool if q.meta["drug"] not in seen][: cfg.n_validation]
    for i, q in enumerate(out):
        q.id = f"synthetic-validation-{cfg.seed}-{i}"
    return out


def load_demo_recipe(cfg: DemoConfig, model_dir: Path, data_dir: Path) -> Any:
    """The GRPO recipe with the demo's model, data, steps and seed (as ``--set`` overrides)."""
    from medzero.data.prompts import PromptConfig
    from medzero.train.recipe import load_recipe

    if not cfg.recipe.is_file():
        raise ConfigError(f"demo recipe not found: {cfg.recipe} (run the demo from a medzero checkout)")
    overrides = [
        f"model.name_or_path={model_dir}",
        "warmup.enabled=false",  # the demo runs and evaluates the warm-up itself (stage 4)
        "data.synthetic=",
        f"data.prepared={data_dir}",
        f"data.seed={cfg.seed}",
        f"grpo.max_steps={cfg.steps}",
        f"grpo.seed={cfg.seed}",
        f"grpo.save_steps={cfg.steps}",
        f"validation.benchmark=file:{data_dir / VALIDATION_FILE}",
        f"validation.every={cfg.validate_every}",
        "validation.limit=",
    ]
    recipe = load_recipe(cfg.recipe, overrides)
    if recipe.data.prompt != PromptConfig(template=recipe.data.prompt.template):
        raise ConfigError(
            f"{cfg.recipe}: the demo evaluates with a prompt template name only; move the "
            "data.prompt overrides into a registered template (medzero.data.prompts.TEMPLATES)"
        )
    return recipe


#: Top-level names a demo writes into OUT (recorded before writing; see medzero.outdir.OwnedFolder).
DEMO_PATHS = ("data", "eval", "warmup", "run", "compare.md", "demo.json", "report.html", "report.md",
              "stats.json")  # fmt: skip


def claim_out_dir(out: Path, overwrite: bool) -> OwnedFolder:
    """Take ``out`` for the demo: a new or empty folder, or an earlier demo's (``overwrite``
    removes only the paths that demo recorded). A non-empty folder of anyone else is refused."""
    return OwnedFolder.claim(out, "demo", overwrite, DEMO_PATHS)


def run_demo(cfg: DemoConfig) -> DemoResult:
    """Run the six stages into ``cfg.out`` and return (and write) the :class:`DemoResult`."""
    from medzero.data.prepare import HELDOUT_FILE, prepare_from_mcqs
    from medzero.data.synthetic import drug_class_questions
    from medzero.models.tiny import corpus_from_questions, ensure_tiny_model

    out = cfg.out
    owned = claim_out_dir(out, cfg.overwrite)
    users = {p.name for p in out.iterdir()}  # what was there before: never recorded as the demo's
    res = DemoResult()
    st = _Stages(6, res.timings)
    t_all = time.perf_counter()

    train = drug_class_questions(cfg.n_train, cfg.seed, "train")
    heldout = drug_class_questions(cfg.n_heldout or 0, cfg.seed, "heldout")
    data_dir = out / "data"
    recipe = load_demo_recipe(cfg, out / "warmup", data_dir)
    prompt = recipe.data.prompt

    with st.stage("model", "tiny model (tokenizer trained on the training questions + random Llama)"):
        base = ensure_tiny_model(cfg.cache_dir, seed=cfg.seed, corpus=corpus_from_questions(train, prompt))
        res.paths["model"] = str(base)
        console.print(f"model: {base}")

    with st.stage("data", "training and held-out sets (synthetic drug-class task)"):
        prepare_from_mcqs(train, heldout, data_dir, prompt, recipe="demo-synthetic", seed=cfg.seed)
        write_jsonl(data_dir / VALIDATION_FILE, [q.to_dict() for q in validation_questions(cfg, train)])
        res.paths["data"] = str(data_dir)
        console.print(
            f"{len(train)} training / {len(heldout)} held-out questions, disjoint drug names -> {data_dir}"
        )
    held_bench = f"file:{data_dir / HELDOUT_FILE}"
    benches = [held_bench, "sample"]

    with st.stage("eval_before", "evaluate the untrained model (held-out, 3 extraction modes)"):
        res.scores["untrained"] = scores_of(evaluate_model(base, out / "eval" / "untrained", benches, recipe))

    with st.stage("train", "format warm-up (supervised, random letters) then GRPO"):
        from medzero.train.runner import train as train_run
        from medzero.train.warmup import run_format_warmup

        params = {k: v for k, v in recipe.warmup.params.items() if k not in ("steps", "seed")}
        if cfg.quick:  # a smoke run of every stage: fixed, short warm-up
            params["max_steps"] = 0
        most = max(cfg.warmup_steps, int(params.get("max_steps") or 0))
        console.print(
            f"format warm-up: {cfg.warmup_steps}{f'-{most}' if most > cfg.warmup_steps else ''} supervised"
            " steps on <think>rarest words of the question</think><answer>RANDOM letter</answer>"
            " (teaches the tags, not the answers; goes on until the restatement is learned)"
        )
        t0 = time.perf_counter()
        with make_progress(TextColumn("loss {task.fields[loss]}")) as progress:
            task = progress.add_task("warm-up", total=most, loss="-")

            def on_step(step: int, loss: float) -> None:
                progress.update(task, completed=step, loss=f"{loss:.3f}")

            warm = run_format_warmup(
                base, train, out / "warmup", steps=cfg.warmup_steps or 1, seed=cfg.seed,
                prompt_cfg=prompt, on_step=on_step, **params,
            )  # fmt: skip
        res.timings["warmup_only"] = round(time.perf_counter() - t0, 2)
        res.paths["warmup"] = str(warm)
        res.scores["warmup"] = scores_of(evaluate_model(warm, out / "eval" / "warmup", benches, recipe))
        console.print(f"GRPO: {cfg.steps} steps of {cfg.recipe.name}")
        t0 = time.perf_counter()
        train_run(recipe, out / "run")
        res.timings["grpo_only"] = round(time.perf_counter() - t0, 2)
        res.paths["run"] = str(out / "run")

    with st.stage("eval_after", "evaluate after GRPO, with CIs, and compare with the warm-up"):
        from medzero.evaluate.compare import compare_runs, diffs_to_markdown

        final = out / "run" / "final"
        best = out / "run" / "best"
        res.scores["grpo"] = scores_of(evaluate_model(final, out / "eval" / "grpo", benches, recipe))
        res.heldout = {
            "before": res.scores["warmup"][held_bench]["strict"]["estimate"],
            "final": res.scores["grpo"][held_bench]["strict"]["estimate"],
        }
        if (best / "config.json").is_file():
            res.scores["grpo-best"] = scores_of(
                evaluate_model(best, out / "eval" / "grpo-best", [held_bench], recipe)
            )
            res.heldout["best"] = res.scores["grpo-best"][held_bench]["strict"]["estimate"]
        res.heldout["after_model"] = "best" if "best" in res.heldout else "final"
        res.heldout["after"] = res.heldout[res.heldout["after_model"]]
        diffs = compare_runs(out / "eval" / "grpo", out / "eval" / "warmup", seed=cfg.seed)
        res.compare = [d.to_dict() for d in diffs]
        (out / "compare.md").write_text(diffs_to_markdown(diffs, "after GRPO", "after warm-up"))
        gain = next(d for d in diffs if d.benchmark == held_bench and d.mode == "strict")
        res.learned = gain.diff.low > 0
        if cfg.data_dir is not None:
            res.sanity_benchmarks = sanity_benchmarks(cfg.data_dir)
            res.sanity_n = cfg.sanity_limit
            kw = {"data_dir": str(cfg.data_dir), "limit": cfg.sanity_limit}
            for tag, model in (("warmup", warm), ("grpo", final)):
                if res.sanity_benchmarks:
                    summary = evaluate_model(
                        model, out / "eval" / f"sanity-{tag}", res.sanity_benchmarks, recipe, **kw
                    )
                    res.scores[f"sanity-{tag}"] = scores_of(summary)

    with st.stage("analyze", "analyse the run -> report.html"):
        from medzero.analyze.pipeline import analyze_run

        analyze_run(out / "run", [out / "eval" / "warmup", out / "eval" / "grpo"], out)
        owned.record_new(users)  # the report's plots
        res.paths["report"] = str(out / "report.html")

    res.timings["total"] = round(time.perf_counter() - t_all, 2)
    res.paths["compare"] = str(out / "compare.md")
    (out / "demo.json").write_text(json.dumps(asdict(res), indent=2) + "\n")
    res.paths["demo_json"] = str(out / "demo.json")
    print_result(res, held_bench)
    return res


def _cell(res: DemoResult, model: str, bench: str, mode: str) -> str:
    sc = res.scores.get(model, {}).get(bench, {}).get(mode)
    if not sc:
        return "-"
    return f"{100 * sc['estimate']:.1f} ({100 * sc['low']:.0f}-{100 * sc['high']:.0f})"


def print_result(res: DemoResult, held_bench: str) -> None:
    """The before/after table and where everything is (on the console)."""
    from rich.table import Table

    table = Table(title="Accuracy, % (95% bootstrap CI)", title_justify="left")
    for col in ("question set", "mode", "untrained", "warm-up", "GRPO"):
        table.add_column(col, justify="left" if col in ("question set", "mode") else "right")
    for mode in MODES:
        label = "held-out (unseen names)" if mode == "strict" else ""
        table.add_row(
            label, mode, *(_cell(res, m, held_bench, mode) for m in ("untrained", "warmup", "grpo"))
        )
    table.add_row(
        "bundled sample (random)",
        "strict",
        *(_cell(res, m, "sample", "strict") for m in ("untrained", "warmup", "grpo")),
    )
    for bench in res.sanity_benchmarks:
        row = ("", "sanity-warmup", "sanity-grpo")
        table.add_row(
            f"{bench}, {res.sanity_n} q (sanity only)",
            "strict",
            "",
            *(_cell(res, m, bench, "strict") for m in row[1:]),
        )
    console.print(table)
    gain = next((d for d in res.compare if d["benchmark"] == held_bench and d["mode"] == "strict"), None)
    if gain:
        d = gain["diff"]
        verdict = "[bold green]learned[/]" if res.learned else "[bold yellow]no significant gain[/]"
        console.print(
            f"GRPO minus warm-up on the held-out set (strict, paired 95% CI): {100 * d['estimate']:+.1f} "
            f"({100 * d['low']:+.1f} to {100 * d['high']:+.1f}) points: {verdict}"
        )
    for name, path in res.paths.items():
        console.print(f"  {name:10s} {path}")
    console.print(f"total {res.timings.get('total', 0):.0f} s")

"""``evaluate(EvalConfig) -> Summary``: a resumable evaluation run writing the OUT directory.

OUT holds ``run.json`` (model, backend, settings), ``items.jsonl`` (one line per scored
(question, sample), appended and flushed as soon as each chunk is scored), ``errors.jsonl``
(generations that kept failing; they are retried on the next run) and the summaries.

Resume: a rerun with the same OUT reads ``items.jsonl`` (cutting a line torn by a kill),
skips every key ``(benchmark, id, sample, prompt_hash)`` already there and generates the rest,
so each item is scored exactly once and the final numbers equal those of an uninterrupted run.
A rerun with settings that change outputs (model, adapter, backend, prompt configuration,
temperature, token cap, seed, dtype, device) is refused instead of mixing two models in one
file. Sampled items are seeded per (question, sample), so a resumed sampled run gives the same
items as an uninterrupted one.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rich.progress import TextColumn

from medzero import __version__
from medzero.console import console, make_progress
from medzero.data.prompts import PromptConfig
from medzero.errors import ConfigError
from medzero.evaluate.benchmarks import LoadedBenchmark, get_benchmark, load_benchmark
from medzero.evaluate.config import EvalConfig
from medzero.evaluate.exclusions import load_exclusions
from medzero.evaluate.items import read_items
from medzero.evaluate.scoring import GenerationSettings, ItemKey, prompt_hash, score_items
from medzero.evaluate.summary import Summary, summarize, write_summary
from medzero.jsonl import JsonlAppender, read_json, write_json_atomic

ITEMS = "items.jsonl"
ERRORS = "errors.jsonl"
RUN = "run.json"


def _differs(old: Any, new: Any) -> bool:
    """A setting changed; for a nested setting (the prompt configuration) only the fields both
    versions know are compared, so a field added by a newer medzero does not block a resume."""
    if isinstance(old, dict) and isinstance(new, dict):
        return any(old[k] != new[k] for k in old.keys() & new.keys())
    return old != new


def _check_run_json(cfg: EvalConfig, out: Path) -> dict[str, Any]:
    """Refuse to resume an OUT written with different output-changing settings."""
    path = out / RUN
    if not path.exists():
        return {}
    previous = read_json(path)
    items = out / ITEMS
    if not items.exists() or items.stat().st_size == 0:
        return previous  # nothing scored yet (e.g. a first run that failed to load the model)
    old = previous.get("identity") or {}
    diff = {k: (old.get(k), v) for k, v in cfg.identity().items() if k in old and _differs(old[k], v)}
    if diff:
        what = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in diff.items())
        raise ConfigError(f"{path}: this OUT was written with other settings ({what}); use a new --out")
    return previous


def _load_all(cfg: EvalConfig) -> list[LoadedBenchmark]:
    exclude = load_exclusions(cfg.exclude_ids) if cfg.exclude_ids else None
    loaded = []
    for name in cfg.benchmarks:
        lb = load_benchmark(get_benchmark(name), cfg.data_dir, limit=cfg.limit, exclude=exclude)
        note = f", {lb.excluded} excluded by --exclude-ids" if exclude is not None else ""
        console.print(f"{name}: {len(lb.records)} questions from {lb.path}{note}")
        loaded.append(lb)
    return loaded


def _prompt_for(cfg: EvalConfig, lb: LoadedBenchmark) -> PromptConfig:
    return cfg.prompt_for(lb.benchmark.template)


def planned_keys(cfg: EvalConfig, loaded: list[LoadedBenchmark]) -> dict[str, list[ItemKey]]:
    """Every (benchmark, id, sample, prompt_hash) this run must score, per benchmark."""
    from medzero.data.prompts import build_messages, with_images

    plan: dict[str, list[ItemKey]] = {}
    for lb in loaded:
        prompt = _prompt_for(cfg, lb)
        keys = []
        for mcq in lb.records:
            ph = prompt_hash(with_images(build_messages(mcq, prompt), mcq.images))
            keys.extend((lb.benchmark.name, mcq.id, s, ph) for s in range(cfg.samples))
        plan[lb.benchmark.name] = keys
    return plan


def _prompt_forms(cfg: EvalConfig, loaded: list[LoadedBenchmark], backend: Any) -> dict[str, Any]:
    """Per benchmark, the prompt layout the backend uses (whether ``<think>`` is opened, ...)."""
    from medzero.data.prompts import PromptForm, build_messages

    forms = {}
    for lb in loaded:
        if not lb.records:
            continue
        messages = build_messages(lb.records[0], _prompt_for(cfg, lb))
        form = getattr(backend, "prompt_form", None)
        think = bool(getattr(backend, "think_preopened", False))
        forms[lb.benchmark.name] = form(messages) if callable(form) else PromptForm("chat", think)
    return forms


def resolve_eval_model(cfg: EvalConfig) -> str:
    """``--model`` / ``--gguf-file`` -> what the backend loads (a GGUF file is converted once);
    the openai backend takes the served model's name as it is."""
    if cfg.backend == "openai":
        return cfg.model
    from medzero.models.resolve import resolve_model

    return resolve_model(cfg.model, cfg.gguf_file)


def _make_backend(cfg: EvalConfig):
    from medzero.evaluate.backends import BackendConfig, make_backend

    return make_backend(
        cfg.backend,
        BackendConfig(
            model=resolve_eval_model(cfg),
            adapter=cfg.adapter,
            batch_size=cfg.batch_size,
            device=cfg.device,
            dtype=cfg.dtype,
            base_url=cfg.base_url,
            api_key=cfg.api_key,
        ),
    )


def evaluate(cfg: EvalConfig, backend=None) -> Summary:
    """Run (or resume) the evaluation described by ``cfg`` and write OUT; return its summary.

    ``backend`` may be passed in (an object with the :class:`~medzero.evaluate.backends.Backend`
    interface, e.g. an already loaded model); otherwise ``cfg.backend`` is built, and only when
    something is left to generate. With ``cfg.tools`` the model may search while it answers
    (:mod:`medzero.evaluate.tooluse`).
    """
    if cfg.tools:
        from medzero.evaluate.tooluse import evaluate_with_tools

        return evaluate_with_tools(cfg, backend, _evaluate)
    return _evaluate(cfg, backend)


def _evaluate(cfg: EvalConfig, backend=None) -> Summary:
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    previous = _check_run_json(cfg, out)
    loaded = _load_all(cfg)
    plan = planned_keys(cfg, loaded)
    run_info = {
        "identity": cfg.identity(),
        "config": cfg.to_dict(),
        "medzero_version": __version__,
        "started": previous.get("started") or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "benchmarks": {
            lb.benchmark.name: {
                "path": str(lb.path),
                "n": len(lb.records),
                "excluded": lb.excluded,
                "skipped_records": lb.skipped,
            }
            for lb in loaded
        },
    }
    write_json_atomic(out / RUN, run_info)

    with JsonlAppender(out / ITEMS) as appender:  # opening repairs a torn tail
        done = set(read_items(out / ITEMS))
        todo = {name: [k for k in keys if k not in done] for name, keys in plan.items()}
        if any(todo.values()):
            own_backend = backend is None
            backend = backend or _make_backend(cfg)
            try:
                errors = _generate(cfg, loaded, todo, done, backend, appender)
            finally:
                if own_backend:
                    backend.close()
            forms = _prompt_forms(cfg, loaded, backend)
            run_info["think_preopened"] = _think_preopened(cfg, backend, forms)
            run_info["prompt_forms"] = {name: f.name for name, f in forms.items()}
            _report_context(backend, cfg, run_info)
        else:
            console.print(f"all {sum(map(len, plan.values()))} items already scored in {out / ITEMS}")
            errors = []
            if "think_preopened" in previous:  # nothing generated: keep what the generating run saw
                run_info["think_preopened"] = previous["think_preopened"]
    if errors:
        with JsonlAppender(out / ERRORS) as ej:
            ej.write_many(errors)
        console.print(
            f"[yellow]{len(errors)} generations failed after {cfg.max_attempts} attempts "
            f"(see {out / ERRORS}); rerun the same command to retry them[/]"
        )
    run_info["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    write_json_atomic(out / RUN, run_info)
    items = read_items(out / ITEMS)
    summary = summarize(items, plan, loaded, samples=cfg.samples, n_boot=cfg.n_boot, run=run_info)
    write_summary(summary, out)
    return summary


def _report_context(backend: Any, cfg: EvalConfig, run_info: dict[str, Any]) -> None:
    """Record (run.json ``context``) and print how many prompts the model's context cut short."""
    length = getattr(backend, "context_length", None)
    if length is None:
        return
    capped, overlong = getattr(backend, "capped_prompts", 0), getattr(backend, "overlong_prompts", 0)
    run_info["context"] = {"length": length, "capped_prompts": capped, "overlong_prompts": overlong}
    if capped or overlong:
        console.print(
            f"[yellow]the model's context is {length} tokens: {capped} prompt(s) got fewer than "
            f"--max-new-tokens {cfg.max_new_tokens} new tokens (prompt + completion must fit), "
            f"{overlong} prompt(s) alone fill it and failed (see errors.jsonl)[/]"
        )


def _think_preopened(cfg: EvalConfig, backend: Any, forms: dict[str, Any]) -> bool:
    if cfg.think_preopened is not None:
        return cfg.think_preopened
    if forms:
        return any(f.think_preopened for f in forms.values())
    return bool(getattr(backend, "think_preopened", False))


def _generate(cfg, loaded, todo, done, backend, appender) -> list[dict[str, Any]]:
    gen = GenerationSettings(cfg.samples, cfg.temperature, cfg.max_new_tokens, cfg.seed)
    errors: list[dict[str, Any]] = []
    chunk = max(cfg.batch_size * 4, 8)
    with make_progress(TextColumn("{task.fields[rate]}")) as progress:
        for lb in loaded:
            name = lb.benchmark.name
            total = len(todo[name])
            if not total:
                continue
            task = progress.add_task(name, total=total, rate="")
            t0 = time.perf_counter()

            def on_records(records, task=task, t0=t0):
                appender.write_many(records)
                progress.advance(task, len(records))
                done_n = progress.tasks[task].completed
                progress.update(task, rate=f"{done_n / max(time.perf_counter() - t0, 1e-9):.1f} items/s")

            result = score_items(
                backend,
                lb.records,
                benchmark=name,
                prompt=_prompt_for(cfg, lb),
                gen=gen,
                done=done,
                chunk_size=chunk,
                max_attempts=cfg.max_attempts,
                on_records=on_records,
                think_preopened=cfg.think_preopened,  # None: each prompt's form decides
            )
            errors.extend(result.errors)
    return errors

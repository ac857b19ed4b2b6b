"""Run every benchmark in ``bench/`` and rewrite the generated part of ``docs/benchmarks.md``.

Each ``bench/<name>.py`` with a ``main()`` that returns a dict is run in this process, one after
the other (``main(argv)`` scripts get an empty argument list, i.e. their defaults). Its numbers —
every ratio measured side by side inside that run — become one table. The tables and the
machine's description (CPU model, cores, RAM, load, Python/torch/transformers/TRL versions) replace
the text between the two ``bench:auto`` markers of ``docs/benchmarks.md``; everything outside the
markers (hand-written notes, GPU results recorded with the card's name) is kept.

    .venv/bin/python bench/run_all.py                 # what `make bench` runs
    .venv/bin/python bench/run_all.py --only extract  # one benchmark
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import inspect
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "bench"
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- bench:auto:start -->", "<!-- bench:auto:end -->"
# Run in this order; any other bench/*.py with a dict-returning main() runs after them.
ORDER = ("extract", "train_overhead", "eval_throughput", "analyze")
# Not benchmarks of medzero's own overhead: long training experiments, run by hand.
SKIP = {
    "run_all": "this script",
    "curriculum": "a multi-arm GRPO experiment (minutes per arm); run it alone",
    "tasks": "the learning battery (many GRPO runs); run it alone",
}
# Leaf keys that hold ratios measured side by side (shown first, bold).
RATIO_WORDS = ("_ratio_", "_vs_", "speedup", "overhead", "_over_")


def machine() -> dict[str, Any]:
    """CPU model, cores, RAM, load and library versions of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = None
    with contextlib.suppress(ValueError, OSError, AttributeError):
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    info: dict[str, Any] = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(ram, 1) if ram else None,
        "load_avg_1min": round(os.getloadavg()[0], 1) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "os": platform.platform(terse=True),
    }
    for mod in ("torch", "transformers", "trl"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            info[mod] = None
    try:
        import torch

        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name()
    except ImportError:
        pass
    return info


def discover(only: list[str] | None = None) -> list[tuple[str, Path]]:
    """``(name, path)`` of the benchmarks to run, in :data:`ORDER` first."""
    found = {p.stem: p for p in sorted(BENCH_DIR.glob("*.py")) if p.stem not in SKIP}
    names = [n for n in ORDER if n in found] + [n for n in found if n not in ORDER]
    if only:
        unknown = [n for n in only if n not in found]
        if unknown:
            raise SystemExit(f"unknown benchmark(s) {unknown}; available: {', '.join(names)}")
        names = [n for n in names if n in only]
    return [(n, found[n]) for n in names]


def run_one(name: str, path: Path) -> dict[str, Any]:
    """Import ``path`` and call its ``main()``; ``{"result": ..., "seconds": ...}`` or ``{"error": ...}``."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        main = getattr(module, "main", None)
        if main is None:
            return {"skipped": "no main()"}
        params = inspect.signature(main).parameters
        argv_saved = sys.argv
        sys.argv = [str(path)]
        try:
            result = main([]) if "argv" in params else main()
        finally:
            sys.argv = argv_saved
    except Exception as exc:  # one broken benchmark must not lose the others' numbers
        traceback.print_exc()
        return {"error": f"{type(exc).__name__}: {exc}", "seconds": round(time.perf_counter() - t0, 1)}
    if not isinstance(result, dict):
        return {"skipped": "main() returned no dict", "seconds": round(time.perf_counter() - t0, 1)}
    return {"result": result, "seconds": round(time.perf_counter() - t0, 1)}


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Scalar leaves of nested dicts as ``{"a.b.c": value}`` (lists are left out)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        elif v is None or isinstance(v, (int, float, str, bool)):
            out[key] = v
    return out


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, float):
        return f"{v:,.3f}" if abs(v) < 100 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def is_ratio(key: str) -> bool:
    leaf = "_" + key.rsplit(".", 1)[-1] + "_"
    return any(w in leaf for w in RATIO_WORDS)


def table(result: dict[str, Any]) -> str:
    """A two-column Markdown table: the ratios first (bold), then the other numbers."""
    flat = flatten(result)
    keys = sorted(flat, key=lambda k: (not is_ratio(k), list(flat).index(k)))
    lines = ["| figure | value |", "|---|---:|"]
    for k in keys:
        name = f"**{k}**" if is_ratio(k) else k
        lines.append(f"| {name} | {_fmt(flat[k])} |")
    return "\n".join(lines)


def render(runs: dict[str, dict[str, Any]], info: dict[str, Any]) -> str:
    """The generated section (between the markers)."""
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    desc = ", ".join(f"{k} {v}" for k, v in info.items() if v is not None)
    parts = [
        START,
        "## Latest `make bench` run",
        "",
        f"Generated by `bench/run_all.py` on {when}. Machine: {desc}.",
        "Ratios (bold) compare methods measured side by side in the same run; absolute numbers",
        "depend on the machine and on whatever else was running (see the load average).",
    ]
    for name, run in runs.items():
        parts += ["", f"### `bench/{name}.py`", ""]
        if "result" in run:
            parts += [f"Wall time {run['seconds']:.0f} s.", "", table(run["result"])]
        else:
            parts.append(f"Not measured: {run.get('error') or run.get('skipped')}.")
    parts.append(END)
    return "\n".join(parts) + "\n"


def write_doc(section: str, doc: Path = DOC) -> None:
    """Replace the marked section of ``doc`` (append it when the markers are absent)."""
    text = doc.read_text(encoding="utf-8") if doc.is_file() else "# Benchmarks\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        text = head + section.rstrip("\n") + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    doc.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", help="benchmark names (default: all)")
    ap.add_argument("--no-write", action="store_true", help="print the section instead of writing the doc")
    args = ap.parse_args(argv)
    info = machine()
    runs = {}
    for name, path in discover(args.only):
        print(f"== bench/{name}.py", flush=True)
        runs[name] = run_one(name, path)
    section = render(runs, info)
    if args.no_write:
        print(section)
    else:
        write_doc(section)
        print(f"wrote {DOC}")
    print(
        json.dumps(
            {
                "machine": info,
                "runs": {k: {kk: v for kk, v in r.items() if kk != "result"} for k, r in runs.items()},
            }
        )
    )
    return {"machine": info, "runs": runs}


if __name__ == "__main__":
    main()

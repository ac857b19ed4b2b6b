"""Read a training run for analysis: a medzero RUN_DIR, a Weights & Biases CSV export or a
TensorBoard event directory.

Everything is returned column-wise (numpy arrays) so the statistics stay vectorised. Reading is
forgiving: a torn or invalid JSONL line, a record with a bad field or a missing file is skipped
and recorded in :attr:`RunLog.issues` (each naming file, line and field) so the report can still
be written from what is there. Only a path that does not exist, or that holds nothing readable,
raises :class:`~medzero.errors.DataError`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medzero.errors import DataError
from medzero.jsonl import iter_jsonl
from medzero.outdir import LOCK_FILE, lock_held

#: Column names tried, in order, for the step of a W&B CSV export or a metrics file.
STEP_COLUMNS = ("step", "train/global_step", "global_step", "Step", "_step")
_WANDB_PREFIX = re.compile(r"^.+? - ")  # "run-name - train/reward" in W&B panel exports
_MAX_ISSUES = 50  # issues kept verbatim; the rest are counted


@dataclass
class Completions:
    """One entry per generated completion (``completions.jsonl``), as parallel arrays."""

    step: np.ndarray  # int64
    group: np.ndarray  # int64 code of (step, prompt_id): one GRPO group
    prompt_id: list[str]
    sample: np.ndarray  # int64, -1 when absent
    tokens: np.ndarray  # float64 completion tokens, nan when absent
    truncated: np.ndarray  # bool
    reward: np.ndarray  # float64 weighted total, nan when absent
    components: dict[str, np.ndarray]  # reward name -> float64 (nan = None / absent)
    gold: np.ndarray  # str letters ("" when absent)
    text: list[str]
    line: np.ndarray  # 1-based source line, for citing examples
    #: per completion its ``tool_calls`` (runs with a recipe ``tools:`` section), else None
    tool_calls: list[list[dict[str, Any]]] | None = None

    def __len__(self) -> int:
        return len(self.text)


@dataclass
class RunLog:
    """What was read from one run, plus every problem met while reading it."""

    source: str
    kind: str  # "run_dir" | "wandb_csv" | "tensorboard" | "metrics_jsonl"
    config: dict[str, Any] | None = None
    run_info: dict[str, Any] | None = None
    metrics: dict[str, np.ndarray] = field(default_factory=dict)  # "step" + one float array per key
    completions: Completions | None = None
    best: dict[str, Any] | None = None  # RUN_DIR/best/best.json: the step validation chose
    issues: list[str] = field(default_factory=list)
    issues_dropped: int = 0

    def warn(self, message: str) -> None:
        if len(self.issues) < _MAX_ISSUES:
            self.issues.append(message)
        else:
            self.issues_dropped += 1

    @property
    def steps(self) -> np.ndarray:
        return self.metrics.get("step", np.zeros(0, dtype=np.int64))


def load_run(path: str | Path) -> RunLog:
    """Read RUN_DIR, a ``metrics.jsonl``, a W&B ``.csv`` export or a TensorBoard event dir."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, None, None, "no such file or directory")
    if path.is_file():
        if path.suffix.lower() == ".csv":
            return read_wandb_csv(path)
        if path.name.endswith(".jsonl"):
            log = RunLog(str(path), "metrics_jsonl")
            log.metrics = _read_metrics(path, log)
            return log
        if path.name.startswith("events.out.tfevents"):
            return read_tensorboard(path.parent)
        raise DataError(path, None, None, "expected a run directory, a .csv export, or a .jsonl metrics file")
    if (path / "metrics.jsonl").exists() or (path / "completions.jsonl").exists():
        return read_run_dir(path)
    if any(path.rglob("events.out.tfevents*")):
        return read_tensorboard(path)
    return read_run_dir(path)  # reports both files missing


def _mark_interrupted(path: Path, log: RunLog) -> None:
    """A run whose ``run_info.json`` still says ``running`` while no process holds its lock was
    killed (the status is only rewritten on a clean end, a failure or a resume): report it as
    ``interrupted``. Runs without a lock file (Python API) keep what they say."""
    info = log.run_info
    if not isinstance(info, dict) or info.get("status") != "running" or lock_held(path) is not False:
        return
    info["status"] = "interrupted"
    log.warn(
        f"{path / 'run_info.json'}: says the run is running, but no process holds {path / LOCK_FILE}: "
        "it was interrupted; `medzero train RECIPE --out RUN_DIR --resume` continues it"
    )


def read_run_dir(path: Path) -> RunLog:
    """Read ``config.yaml``, ``run_info.json``, ``metrics.jsonl``, ``completions.jsonl`` and
    ``best/best.json`` (which validation step ``RUN_DIR/best`` holds)."""
    log = RunLog(str(path), "run_dir")
    cfg = path / "config.yaml"
    if cfg.exists():
        import yaml

        try:
            log.config = yaml.safe_load(cfg.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            log.warn(f"{cfg}: unreadable YAML ({exc.__class__.__name__}); config left out")
    else:
        log.warn(f"{cfg}: missing; the report has no recipe section")
    info = path / "run_info.json"
    if info.exists():
        try:
            log.run_info = json.loads(info.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            log.warn(f"{info}:{exc.lineno}: invalid JSON ({exc.msg}); run info left out")
        else:
            _mark_interrupted(path, log)
    best = path / "best" / "best.json"
    if best.exists():
        try:
            log.best = json.loads(best.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            log.warn(f"{best}:{exc.lineno}: invalid JSON ({exc.msg}); the best checkpoint is not marked")
    for name in ("metrics.jsonl", "completions.jsonl"):
        if not (path / name).exists():
            log.warn(f"{path / name}: missing; the analyses that need it are skipped")
    if (path / "metrics.jsonl").exists():
        log.metrics = _read_metrics(path / "metrics.jsonl", log)
    if (path / "completions.jsonl").exists():
        log.completions = read_completions(path / "completions.jsonl", log)
    if not log.metrics and (log.completions is None or len(log.completions) == 0):
        log.warn(f"{path}: empty run: no metrics or completions records found")
    return log


def _iter_lines(path: Path, log: RunLog):
    """JSON objects of a JSONL file; bad lines become warnings (after the good lines are read)."""
    errors: list[DataError] = []
    yield from iter_jsonl(path, errors, objects_only=True)
    for err in errors:
        log.warn(f"{err}; skipped")


def _as_float(v: Any, warn: Callable[[str], None] | None = None) -> float:
    """``v`` as a float; ``None`` is nan. A value that is not a number is nan too, and ``warn``
    (when given) hears about it, so that nothing becomes nan without being listed."""
    if isinstance(v, bool) or v is None:
        return float(v) if isinstance(v, bool) else np.nan
    try:
        return float(v)
    except (TypeError, ValueError, OverflowError):
        if warn is not None:
            warn(f"expected a number, got {v!r}"[:200])
        return np.nan


def _field_warner(log: RunLog, path: Path, lineno: int, name: str) -> Callable[[str], None]:
    return lambda problem: log.warn(f'{path}:{lineno}: field "{name}": {problem}; counted as missing')


def _columns(rows: list[dict[str, float]], steps: list[int]) -> dict[str, np.ndarray]:
    """Rows of {key: value} -> sorted 'step' column + one float column per key (nan = not logged)."""
    if not rows:
        return {}
    keys = list(dict.fromkeys(k for r in rows for k in r))
    order = np.argsort(np.asarray(steps), kind="stable")
    out = {"step": np.asarray(steps, dtype=np.int64)[order]}
    for k in keys:
        out[k] = np.array([r.get(k, np.nan) for r in rows], dtype=np.float64)[order]
    return out


def _read_metrics(path: Path, log: RunLog) -> dict[str, np.ndarray]:
    by_step: dict[int, dict[str, float]] = {}
    for lineno, obj in _iter_lines(path, log):
        step = next((obj[c] for c in STEP_COLUMNS if c in obj), None)
        if not isinstance(step, (int, float)) or isinstance(step, bool):
            log.warn(f'{path}:{lineno}: field "step": expected an integer, got {step!r}; skipped')
            continue
        row = {normalise_metric_name(k): _as_float(v) for k, v in obj.items() if k not in STEP_COLUMNS}
        old = by_step.setdefault(int(step), {})
        clash = [k for k in row if k in old and old[k] != row[k] and not np.isnan(old[k])]
        if clash:
            log.warn(
                f"{path}:{lineno}: step {int(step)} logged twice with different {clash[0]!r}; kept the later"
            )
        old.update(row)  # TRL's end-of-training summary shares the last step: merge it
    steps = sorted(by_step)
    return _columns([by_step[s] for s in steps], steps)


def read_completions(path: Path, log: RunLog) -> Completions:
    """Parse ``completions.jsonl``; records without an integer ``step`` or a string
    ``completion`` are skipped (and reported), other absent fields become nan / ""."""
    step, pid, sample, tokens, trunc, reward, gold, text, lines = ([] for _ in range(9))
    calls: list[list[dict[str, Any]]] = []
    any_calls = False
    comps: dict[str, list[float]] = {}
    n = 0
    for lineno, obj in _iter_lines(path, log):
        s, c = obj.get("step"), obj.get("completion")
        if not isinstance(s, int) or isinstance(s, bool):
            log.warn(f'{path}:{lineno}: field "step": expected an integer, got {s!r}; skipped')
            continue
        if not isinstance(c, str):
            log.warn(
                f'{path}:{lineno}: field "completion": expected a string, got {type(c).__name__}; skipped'
            )
            continue
        step.append(s)
        pid.append(str(obj.get("prompt_id", "")))
        smp = obj.get("sample")
        sample.append(smp if isinstance(smp, int) else -1)
        ntok = _as_float(obj.get("completion_tokens"), _field_warner(log, path, lineno, "completion_tokens"))
        if ntok < 0:
            _field_warner(log, path, lineno, "completion_tokens")(f"expected a count >= 0, got {ntok:g}")
            ntok = np.nan
        tokens.append(ntok)
        trunc.append(bool(obj.get("truncated", False)))
        reward.append(_as_float(obj.get("reward"), _field_warner(log, path, lineno, "reward")))
        g = obj.get("gold")
        gold.append(g if isinstance(g, str) else "")
        text.append(c)
        lines.append(lineno)
        tc = obj.get("tool_calls")
        any_calls = any_calls or tc is not None
        calls.append([x for x in tc if isinstance(x, dict)] if isinstance(tc, list) else [])
        rw = obj.get("rewards")
        if isinstance(rw, dict):
            for name, v in rw.items():
                if name not in comps:  # a component first seen now: nan for the earlier records
                    comps[name] = [np.nan] * n
                comps[name].append(_as_float(v, _field_warner(log, path, lineno, f"rewards.{name}")))
        n += 1
        for col in comps.values():
            if len(col) < n:
                col.append(np.nan)
    step_a = np.asarray(step, dtype=np.int64)
    keys = [f"{a}\x00{b}" for a, b in zip(step, pid, strict=True)]
    _, group = np.unique(np.asarray(keys, dtype=object), return_inverse=True) if keys else (None, step_a)
    reward_a = np.asarray(reward, dtype=np.float64)
    return Completions(
        step=step_a,
        group=np.asarray(group, dtype=np.int64).ravel(),
        prompt_id=pid,
        sample=np.asarray(sample, dtype=np.int64),
        tokens=np.asarray(tokens, dtype=np.float64),
        truncated=np.asarray(trunc, dtype=bool),
        reward=reward_a,
        components={k: np.asarray(v, dtype=np.float64) for k, v in comps.items()},
        gold=np.asarray(gold, dtype=object),
        text=text,
        line=np.asarray(lines, dtype=np.int64),
        tool_calls=calls if any_calls else None,
    )


def normalise_metric_name(name: str) -> str:
    """W&B / TensorBoard names -> TRL's logged names: drop ``"<run> - "`` and ``train/``."""
    name = _WANDB_PREFIX.sub("", name.strip())
    return name[len("train/") :] if name.startswith("train/") else name


def read_wandb_csv(path: Path) -> RunLog:
    """A CSV exported from Weights & Biases (run table or panel export) with TRL metric names.

    ``__MIN`` / ``__MAX`` band columns and per-metric ``_step`` columns are ignored; empty
    cells are "not logged at this step"."""
    log = RunLog(str(path), "wandb_csv")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(path, None, None, f"not a CSV text file (not UTF-8 at byte {exc.start})") from None
    if "\x00" in text:
        raise DataError(path, None, None, "not a CSV text file (it holds NUL bytes)")
    try:
        _read_wandb_rows(path, io.StringIO(text, newline=""), log)
    except csv.Error as exc:
        raise DataError(path, None, None, f"malformed CSV ({exc})") from None
    if not log.metrics:
        log.warn(f"{path}: no data rows")
    return log


def _read_wandb_rows(path: Path, fh: io.StringIO, log: RunLog) -> None:
    reader = csv.reader(fh)
    header = next(reader, None)
    if not header:
        raise DataError(path, 1, None, "empty CSV: expected a header row with a step column")
    names = [normalise_metric_name(h) for h in header]
    step_col = next((names.index(c) for c in STEP_COLUMNS if c in names), None)
    if step_col is None:
        raise DataError(
            path, 1, None, f"no step column: expected one of {', '.join(STEP_COLUMNS)}; got {header[:6]}"
        )
    keep = [
        i
        for i, n in enumerate(names)
        if i != step_col and n not in STEP_COLUMNS and not re.search(r"__(MIN|MAX)$|_step$", n)
    ]
    if not keep:
        raise DataError(path, 1, None, f"no metric columns next to the step column; got {header[:6]}")
    rows, steps = [], []
    for lineno, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            step = int(float(row[step_col]))
        except (ValueError, IndexError):
            log.warn(f'{path}:{lineno}: field "{header[step_col]}": expected a step number; skipped')
            continue
        steps.append(step)
        rows.append(
            {
                names[i]: _as_float(row[i], _field_warner(log, path, lineno, header[i]))
                if i < len(row) and row[i] != ""
                else np.nan
                for i in keep
            }
        )
    log.metrics = _merge_same_steps(_columns(rows, steps))


def _merge_same_steps(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Several rows for one step (W&B logs each metric group separately) -> one row (nanmean)."""
    if not cols:
        return cols
    steps, inv = np.unique(cols["step"], return_inverse=True)
    if len(steps) == len(cols["step"]):
        return cols
    out = {"step": steps}
    for k, v in cols.items():
        if k == "step":
            continue
        ok = ~np.isnan(v)
        cnt = np.bincount(inv[ok], minlength=len(steps))
        tot = np.bincount(inv[ok], weights=v[ok], minlength=len(steps))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[k] = np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)
    return out


def read_tensorboard(path: Path) -> RunLog:
    """Scalars of every event file under ``path`` (TRL logs them as ``train/<metric>``)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    log = RunLog(str(path), "tensorboard")
    dirs = sorted({p.parent for p in path.rglob("events.out.tfevents*")})
    if not dirs:
        raise DataError(path, None, None, "no TensorBoard event files (events.out.tfevents*) found")
    by_step: dict[int, dict[str, float]] = {}
    for d in dirs:
        acc = EventAccumulator(str(d), size_guidance={"scalars": 0})
        try:
            acc.Reload()
        except Exception as exc:  # corrupt record: keep what the other files hold
            log.warn(f"{d}: could not read events ({exc.__class__.__name__}: {exc}); skipped")
            continue
        for tag in acc.Tags().get("scalars", []):
            name = normalise_metric_name(tag)
            if name in STEP_COLUMNS:
                continue
            for ev in acc.Scalars(tag):
                by_step.setdefault(int(ev.step), {})[name] = float(ev.value)
    steps = sorted(by_step)
    log.metrics = _columns([by_step[s] for s in steps], steps)
    if not log.metrics:
        log.warn(f"{path}: the event files hold no scalars")
    return log

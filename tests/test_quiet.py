"""The bitsandbytes "No module named 'kernels'" notice no longer appears on every command."""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys

import pytest

import medzero  # noqa: F401  (installs the filter)

NOTICE = "Failed to load CPU gemm_4bit_forward from kernels-community: %s. Please make sure ..."


def test_the_missing_kernels_record_is_dropped_and_others_kept(caplog):
    log = logging.getLogger("bitsandbytes.backends.cpu.ops")
    with caplog.at_level(logging.WARNING):
        log.warning(NOTICE, ModuleNotFoundError("No module named 'kernels'", name="kernels"))
        assert caplog.records == []
        log.warning(NOTICE, RuntimeError("kernel version mismatch"))  # a real failure still shows
    assert [r.getMessage() for r in caplog.records] == [NOTICE % "kernel version mismatch"]


@pytest.mark.parametrize("args", [["--help"], ["train", "--help"], ["eval", "--help"]])
def test_commands_print_no_kernels_notice(args):
    env = {**os.environ, "MEDZERO_NO_PROGRESS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "medzero.cli", *args], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0 and "kernels" not in done.stdout + done.stderr


def test_train_check_prints_no_kernels_notice(tiny_model_dir, tmp_path):
    """`train --check` imports trl/peft, hence bitsandbytes, which logs the notice at import on
    CPUs with AVX512-BF16 (this assertion fails there without medzero's filter)."""
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"model:\n  name_or_path: {tiny_model_dir}\ndata:\n  synthetic: 8\n")
    env = {**os.environ, "MEDZERO_NO_PROGRESS": "1"}
    cmd = [sys.executable, "-m", "medzero.cli", "train", str(recipe), "--check"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "kernels" not in done.stdout + done.stderr


def test_deepspeed_cpu_fallback_notice_is_dropped_and_others_kept():
    """DeepSpeed logs its CPU-fallback warning on stdout; `train`'s stdout is one JSON object."""
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    log = logging.getLogger("DeepSpeed")
    handler = Collect(level=logging.WARNING)
    log.addHandler(handler)
    try:
        log.warning(
            "Setting accelerator to CPU. If you have GPU or other accelerator, we were unable to detect it."
        )
        assert seen == []
        log.warning("ZeRO-3 offload: pinned memory unavailable")
    finally:
        log.removeHandler(handler)
    assert seen == ["ZeRO-3 offload: pinned memory unavailable"]


@pytest.mark.skipif(
    importlib.util.find_spec("deepspeed") is None, reason="the deepspeed extra is not installed"
)
def test_importing_deepspeed_prints_nothing_on_stdout():
    code = "import medzero, deepspeed"
    env = {**os.environ, "MEDZERO_NO_PROGRESS": "1"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Setting accelerator to CPU" not in done.stdout


def _env_without_hf_switches(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DISABLE_PROGRESS_BARS")}
    return {**env, **extra}


def test_eval_shows_no_loading_weights_bar_when_progress_is_off(tiny_model_dir, tmp_path):
    """transformers draws a "Loading weights" bar on every model load; MEDZERO_NO_PROGRESS=1 must
    silence it in every command, not only in `train` (which switched it off itself)."""
    cmd = [sys.executable, "-m", "medzero.cli", "eval", "--model", str(tiny_model_dir), "--benchmarks"]
    cmd += ["sample", "--limit", "1", "--max-new-tokens", "2", "--out", str(tmp_path / "ev")]
    env = _env_without_hf_switches(MEDZERO_NO_PROGRESS="1", OMP_NUM_THREADS="1")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Loading weights" not in done.stderr + done.stdout


def test_library_bars_already_imported_are_switched_off_only_when_progress_is_off(monkeypatch):
    from transformers.utils import logging as hf_logging

    from medzero.console import quiet_library_progress

    was_on = hf_logging.is_progress_bar_enabled()
    for name in ("HF_HUB_DISABLE_PROGRESS_BARS", "HF_DATASETS_DISABLE_PROGRESS_BARS"):
        monkeypatch.delenv(name, raising=False)
    try:
        hf_logging.enable_progress_bar()
        monkeypatch.delenv("MEDZERO_NO_PROGRESS", raising=False)
        quiet_library_progress()  # medzero's bars are on: the libraries' stay as they are
        assert hf_logging.is_progress_bar_enabled() and "HF_HUB_DISABLE_PROGRESS_BARS" not in os.environ
        monkeypatch.setenv("MEDZERO_NO_PROGRESS", "1")
        quiet_library_progress()
        assert not hf_logging.is_progress_bar_enabled()
        assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "1"  # for libraries imported later
    finally:
        (hf_logging.enable_progress_bar if was_on else hf_logging.disable_progress_bar)()

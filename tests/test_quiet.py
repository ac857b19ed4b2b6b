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

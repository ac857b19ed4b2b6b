"""The adversarial suite: bad input, interruption and concurrency, tried through the installed CLI
as a user would (``python -m medzero.cli ...`` in a subprocess, in a scratch folder).

Each case expects a clear message (file, line, field where there is one), exit status 2 and no
traceback, and that nothing is lost. Multi-second cases (a model is loaded) are ``slow``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err

    def clear_error(self, *needles: str) -> None:
        """Exit status 2, no traceback, and every needle in the message."""
        assert_clear_error(self, *needles)


def medzero(*args: object, cwd: Path, stdin: str | None = None, timeout: float = 300) -> Result:
    """Run ``python -m medzero.cli ARGS`` in ``cwd``; the output comes back whole."""
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    env.update(MEDZERO_NO_PROGRESS="1", OMP_NUM_THREADS="1", COLUMNS="200", NO_COLOR="1")
    proc = subprocess.run(
        [sys.executable, "-m", "medzero.cli", *map(str, args)],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def assert_clear_error(res: Result, *needles: str) -> None:
    """Exit status 2, no traceback, and every needle in the message."""
    assert res.code == 2, (res.code, res.text[-3000:])
    assert "Traceback" not in res.text, res.text[-3000:]
    for needle in needles:
        assert needle in res.text, (needle, res.text[-3000:])


@pytest.fixture
def cli(tmp_path: Path):
    """``cli(*args, stdin=None)`` runs medzero in the test's scratch folder."""

    def run(*args: object, stdin: str | None = None, timeout: float = 300) -> Result:
        return medzero(*args, cwd=tmp_path, stdin=stdin, timeout=timeout)

    return run

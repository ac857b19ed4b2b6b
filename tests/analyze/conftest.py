"""Shared synthetic runs for the analysis tests (planted truths from medzero.analyze.synthetic)."""

from __future__ import annotations

from pathlib import Path

import pytest

from medzero.analyze.synthetic import SyntheticRun, write_synthetic_run


@pytest.fixture(scope="session")
def planted_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A 40-step run: within-prompt r = 0.5 (pooled 0.75), reflection rises 5% -> 50% at step 20,
    20% of answers flip."""
    run = tmp_path_factory.mktemp("run") / "run"
    truth = write_synthetic_run(run, SyntheticRun(seed=3))
    return run, truth


@pytest.fixture(scope="session")
def planted_stats(planted_run, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict, Path]:
    from medzero.analyze.pipeline import analyze_run

    run, truth = planted_run
    out = tmp_path_factory.mktemp("report")
    return analyze_run(run, out_dir=out), truth, out

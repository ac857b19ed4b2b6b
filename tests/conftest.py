"""Shared fixtures: the real benchmark folder (tests skip without it) and CPU-only settings."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest

os.environ.setdefault("MEDZERO_NO_PROGRESS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MEDZERO_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def _has_cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except Exception:
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if any("gpu" in item.keywords for item in items) and not _has_cuda():
        skip = pytest.mark.skip(reason="needs CUDA")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (or $MEDZERO_SHARED_DATA); the test is skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real benchmark data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny local model + tokenizer, built once per session (under $MEDZERO_CACHE when set)."""
    from medzero.models.tiny import ensure_tiny_model

    cache = os.environ.get("MEDZERO_CACHE") or tmp_path_factory.mktemp("medzero-cache")
    return ensure_tiny_model(cache_dir=cache)


@pytest.fixture(scope="session")
def tiny_vlm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny vision-language model, built once per session through `medzero model tiny-vlm`."""
    from typer.testing import CliRunner

    from medzero.cli import build_app

    out = tmp_path_factory.mktemp("tiny-vlm") / "model"
    res = CliRunner().invoke(build_app(), ["model", "tiny-vlm", "--out", str(out)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture(scope="session")
def one_thread():
    """Run torch on one CPU thread: on a shared, loaded machine two threads contend and a tiny
    model's generation gets ~10x slower (measured 29 s vs 1.8 s for 16 prompts)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def noisy_model_dir(tiny_model_dir, tmp_path_factory, one_thread) -> Path:
    """The tiny model saved with large random weights, so its greedy answers vary by question
    (the freshly initialised tiny model repeats one token for every prompt)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path_factory.mktemp("noisy-tiny")
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.3)
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(out)
    return out


@pytest.fixture
def load_bench():
    """``load_bench("tasks")`` imports ``bench/tasks.py`` as a module and returns it (the scripts
    in bench/ are not a package, so they load by path)."""

    def load(name: str) -> ModuleType:
        spec = importlib.util.spec_from_file_location(
            f"bench_{name}", Path(__file__).resolve().parents[1] / "bench" / f"{name}.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load

"""Output folders: a user's files are never deleted, one writer at a time, clear errors for bad
``--out`` paths (issue 15, attack items 1, 3 and 8)."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from medzero.errors import ConfigError
from medzero.outdir import OwnedFolder, ensure_dir, output_lock

RECIPE = "model:\n  name_or_path: tiny\ndata:\n  synthetic: 16\n"


def _commands(tmp_path: Path, out: str) -> dict[str, list[str]]:
    (tmp_path / "r.yaml").write_text(RECIPE)
    (tmp_path / "mix.yaml").write_text("- source: sample\n  path: none.jsonl\n  count: 1\n")
    (tmp_path / "wb.csv").write_text("Step,reward\n1,0.5\n")
    (tmp_path / "m").mkdir(exist_ok=True)
    (tmp_path / "m" / "config.json").write_text("{}")  # looks like a model folder; never loaded
    return {
        "demo": ["demo", "--quick", "--out", out],
        "eval": ["eval", "--model", "m", "--benchmarks", "sample", "--out", out],
        "analyze": ["analyze", "wb.csv", "--out", out],
        "model": ["model", "tiny", "--out", out],
        "train": ["train", "r.yaml", "--out", out],
    }


@pytest.mark.parametrize("command", ["demo", "eval", "analyze", "model", "train"])
def test_out_pointing_at_a_file(cli, tmp_path, command):
    (tmp_path / "afile").write_text("mine")
    res = cli(*_commands(tmp_path, "afile")[command])
    res.clear_error("--out afile: is a file, not a folder")
    assert (tmp_path / "afile").read_text() == "mine"


def test_prepare_out_pointing_at_a_file(cli, tmp_path):
    from importlib import resources

    sample = resources.files("medzero") / "resources" / "sample_mcq.jsonl"
    (tmp_path / "mix.yaml").write_text(f"- source: sample\n  path: {sample}\n  count: 4\n")
    (tmp_path / "afile").write_text("mine")
    cli("data", "prepare", "--mix", "mix.yaml", "--out", "afile").clear_error("--out afile: is a file")


def test_a_read_only_out(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(ConfigError, match=r"cannot create the folder \(Read-only file system"):
        ensure_dir(tmp_path / "new")
    monkeypatch.undo()
    monkeypatch.setattr(os, "access", lambda *a, **k: False)
    with pytest.raises(ConfigError, match="not writable"):
        ensure_dir(tmp_path)


# ------------------------------------------------------------------- 3. one writer per folder


@pytest.mark.parametrize("command", ["demo", "eval", "train"])
def test_a_second_writer_is_refused_naming_the_holder(cli, tmp_path, command):
    with output_lock(tmp_path / "busy", "eval"):
        res = cli(*_commands(tmp_path, "busy")[command], timeout=120)
    res.clear_error("--out busy: in use by pid", str(os.getpid()), "medzero eval")
    assert not (tmp_path / "busy" / "items.jsonl").exists()


def test_the_lock_dies_with_its_holder(tmp_path):
    with output_lock(tmp_path / "o", "eval"), pytest.raises(ConfigError, match="in use"):  # noqa: SIM117
        with output_lock(tmp_path / "o", "eval"):  # the inner one is refused
            pass
    with output_lock(tmp_path / "o", "eval"):  # released: free again
        info = json.loads((tmp_path / "o" / ".medzero.lock").read_text())
    assert info["pid"] == os.getpid() and info["command"] == "eval"


# ------------------------------------------------------------------- 1. demo --overwrite


def test_demo_refuses_a_non_empty_folder_and_never_deletes_it(cli, tmp_path):
    (tmp_path / "X").mkdir()
    (tmp_path / "X" / "keep.txt").write_text("precious")
    for extra in ([], ["--overwrite"]):
        res = cli("demo", "--quick", "--out", "X", *extra)
        res.clear_error("is not empty and was not written by medzero demo", "Nothing was removed")
    assert (tmp_path / "X" / "keep.txt").read_text() == "precious"


def test_demo_out_dot_is_refused_in_a_non_empty_working_folder(cli, tmp_path):
    (tmp_path / "keep.txt").write_text("precious")
    cli("demo", "--quick", "--out", ".", "--overwrite").clear_error("is not empty")
    assert (tmp_path / "keep.txt").exists()


def test_overwrite_removes_only_recorded_paths(tmp_path):
    out = tmp_path / "d"
    OwnedFolder.claim(out, "demo", False, ("run", "report.md"))
    (out / "run").mkdir()
    (out / "report.md").write_text("old")
    (out / "keep.txt").write_text("the user's")
    (out / ".medzero-owned.json").write_text(
        json.dumps({"owner": "demo", "paths": ["run", "report.md", "..", "/etc", "keep.txt/../.."]})
    )  # a tampered marker cannot point outside the folder
    OwnedFolder.claim(out, "demo", True, ("run",))
    assert not (out / "run").exists() and not (out / "report.md").exists()
    assert (out / "keep.txt").read_text() == "the user's" and tmp_path.exists()

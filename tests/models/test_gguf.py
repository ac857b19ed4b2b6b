"""GGUF conversion and model resolution that need neither the gguf package nor the model package."""

from __future__ import annotations

import builtins
import json

import pytest

from medzero.errors import ConfigError
from medzero.models import gguf
from medzero.models.resolve import resolve_model


def test_resolve_passes_names_through_and_builds_tiny(tiny_model_dir, monkeypatch):
    assert resolve_model("Qwen/Qwen2.5-0.5B") == "Qwen/Qwen2.5-0.5B"
    assert resolve_model(str(tiny_model_dir)) == str(tiny_model_dir)
    monkeypatch.setenv("MEDZERO_CACHE", str(tiny_model_dir.parent))
    assert resolve_model("tiny") == str(tiny_model_dir)
    with pytest.raises(ConfigError, match="no model given"):
        resolve_model("")


def test_a_file_that_is_not_gguf_is_refused_before_any_work(tmp_path):
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"PK\x03\x04 not a gguf")
    with pytest.raises(ConfigError, match="not a GGUF file"):
        resolve_model(str(tmp_path), gguf_file="model.gguf")  # relative to the model folder
    with pytest.raises(ConfigError, match="GGUF file not found"):
        resolve_model("", gguf_file=str(tmp_path / "missing.gguf"))


def test_cache_hit_needs_no_conversion_and_no_gguf_package(tmp_path, monkeypatch):
    f = tmp_path / "m.gguf"
    f.write_bytes(b"GGUF" + b"\0" * 60)
    digest = gguf.sha256_file(f)
    done = tmp_path / "cache" / digest
    done.mkdir(parents=True)
    (done / gguf.MARKER).write_text(json.dumps({"sha256": digest}))
    monkeypatch.setenv("MEDZERO_GGUF_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(gguf, "convert", lambda *a: pytest.fail("converted again"))
    assert resolve_model(str(f)) == str(done)  # a .gguf name_or_path is converted (here: cached)
    assert resolve_model("", gguf_file=str(f)) == str(done)


def test_missing_packages_name_the_extra(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_gguf(name, *args, **kw):
        if name in ("gguf", gguf.PACKAGE_MODULE):
            raise ImportError(name)
        return real_import(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_gguf)
    with pytest.raises(ConfigError, match=r'"gguf" extra: pip install "medzero\[gguf\]"'):
        gguf.require_gguf()
    with pytest.raises(ConfigError, match=r"packaged Gemma 3 270M GGUF is not installed: .*medzero\[gguf\]"):
        gguf.packaged_source(tmp_path)
    f = tmp_path / "m.gguf"
    f.write_bytes(b"GGUF" + b"\0" * 60)
    monkeypatch.setenv("MEDZERO_GGUF_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ConfigError, match=r"medzero\[gguf\]"):
        resolve_model(str(f))


def test_export_copies_and_never_overwrites_a_foreign_folder(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / gguf.MARKER).write_text("{}")
    (src / "config.json").write_text("{}")
    out = gguf.export(src, tmp_path / "out")
    assert sorted(p.name for p in out.iterdir()) == ["config.json", gguf.MARKER]
    (out / "config.json").write_text('{"changed": 1}')
    assert (src / "config.json").read_text() == "{}"  # a copy, not a link into the cache
    gguf.export(src, out)  # an earlier from-gguf folder is replaced
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        gguf.export(src, foreign)


def test_recipe_takes_gguf_file_instead_of_name(tmp_path):
    from medzero.train.recipe import recipe_from_dict

    rec = recipe_from_dict({"model": {"gguf_file": "packaged"}, "data": {"synthetic": 4}})
    assert rec.model.gguf_file == "packaged" and rec.model.name_or_path == ""
    with pytest.raises(ConfigError, match="gguf_file"):
        recipe_from_dict({"model": {"dtype": "float32"}, "data": {"synthetic": 4}})

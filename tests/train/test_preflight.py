"""Pre-flight helpers: cheap model inspection, launcher world size, think_preopened wiring."""

from __future__ import annotations

import shutil
from pathlib import Path

from medzero.models.tiny import build_tiny_model
from medzero.train.preflight import meta_module_names, preflight, read_model_config, reward_params, world_size
from medzero.train.recipe import recipe_from_dict


def tiny(model_dir, **extra):
    return recipe_from_dict(
        {
            "model": {"name_or_path": str(model_dir)},
            "data": {"synthetic": 8},
            "rewards": {"accuracy": 1.0, "format": 0.2},
            "grpo": {"num_generations": 2, "per_device_train_batch_size": 4},
            **extra,
        }
    )


def test_model_is_inspected_without_loading_weights(tiny_model_dir):
    rec = tiny(tiny_model_dir)
    assert read_model_config(str(tiny_model_dir), rec)["max_position_embeddings"] > 0
    names = meta_module_names(str(tiny_model_dir), rec)
    assert any(n.endswith("self_attn.q_proj") for n in names)
    assert read_model_config("no/such-model", rec) is None


def test_world_size_comes_from_the_launcher(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert world_size() == 1
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert world_size() == 4


def test_think_preopened_reaches_every_reward_that_takes_it(tiny_model_dir):
    rec = tiny(tiny_model_dir, reward_params={"format": {"variant": "soft"}})
    assert reward_params(rec, False) == {"format": {"variant": "soft"}}
    params = reward_params(rec, True)
    assert params["format"] == {"variant": "soft", "think_preopened": True}
    assert params["accuracy"] == {"think_preopened": True}


def test_preflight_on_the_tiny_model(tiny_model_dir):
    pre = preflight(tiny(tiny_model_dir, peft={"enabled": True, "target_modules": ["q_proj", "qkv"]}))
    assert not pre.ok and any(f.check == "lora_targets" and "qkv" in f.message for f in pre.findings)
    assert len(pre.rows) == 8 and pre.think_preopened is False


def test_flash_attention_falls_back_when_not_installed(monkeypatch):
    import importlib.util

    from medzero.train.preflight import attn_implementation
    from medzero.train.recipe import recipe_from_dict

    raw = {
        "model": {"name_or_path": "tiny", "attn_implementation": "flash_attention_2"},
        "data": {"synthetic": 4},
    }
    rec = recipe_from_dict(raw)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "flash_attn" else real(name, *a)
    )
    impl, note = attn_implementation(rec, cuda=True)
    assert impl == "sdpa" and "flash_attn is not installed" in note and "model.attn_fallback" in note
    impl, note = attn_implementation(rec, cuda=False)
    assert impl == "sdpa" and "no CUDA device" in note
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())
    assert attn_implementation(rec, cuda=True) == ("flash_attention_2", None)
    rec.model.attn_fallback = None  # no fallback: transformers decides (and fails loudly)
    assert attn_implementation(rec, cuda=False) == ("flash_attention_2", None)
    rec.model.attn_implementation = "sdpa"
    assert attn_implementation(rec, cuda=False) == ("sdpa", None)


def _user_file(tmp_path):
    from medzero.data.synthetic_tasks import task_questions
    from medzero.jsonl import write_jsonl

    path = tmp_path / "train.jsonl"
    write_jsonl(path, [q.to_dict() for q in task_questions("term-prefix", 64, 0, n_options=8)])
    return path


def test_check_refuses_a_warmup_target_that_cannot_fit(tmp_path, monkeypatch, capsys):
    import pytest

    from medzero.cli import main

    monkeypatch.setenv("MEDZERO_CACHE", str(tmp_path / "cache"))
    recipe = Path(__file__).resolve().parents[2] / "recipes" / "tiny-cpu.yaml"
    argv = ["train", str(recipe), "--set", f"data.path={_user_file(tmp_path)}", "--check"]
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--set", "grpo.max_completion_length=8"])
    assert exc.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "warm-up target needs up to" in err and "max_completion_length is 8" in err
    assert "--set grpo.max_completion_length=" in err
    with pytest.raises(SystemExit) as exc:  # the shipped settings fit
        main(argv)
    assert not exc.value.code
    # the tiny model was built from the user's file: its prefixes are whole pieces
    (built,) = (tmp_path / "cache").glob("tiny-*")
    assert "nephro" in (built / "medzero_tiny.json").read_text()


def test_warmup_from_must_name_a_warmup_with_the_same_tokenizer(tmp_path, tiny_model_dir):
    rec = tiny(tiny_model_dir, warmup={"from": str(tmp_path / "nothing")})
    pre = preflight(rec)
    assert not pre.ok and any(
        f.check == "warmup_from" and "holds no warm-up" in f.message for f in pre.findings
    )
    run = tmp_path / "run"
    shutil.copytree(tiny_model_dir, run / "warmup")
    assert preflight(tiny(tiny_model_dir, warmup={"from": str(run)})).ok  # a run dir with warmup/
    other = tmp_path / "other"
    build_tiny_model(other, corpus=["a different corpus entirely"] * 3)
    pre = preflight(tiny(tiny_model_dir, warmup={"from": str(other)}))
    assert any(f.check == "warmup_from" and "another tokenizer" in f.message for f in pre.findings)

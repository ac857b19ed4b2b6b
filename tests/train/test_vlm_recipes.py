"""The real-model VLM recipes (Qwen2.5-VL-3B/7B with LoRA) load and pass every pre-flight check
that runs offline: no model download. The model's module names and config come from a
locally built Qwen2.5-VL config of the same layout (tiny sizes, meta device)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from medzero.errors import ConfigError
from medzero.train.checks import Context, errors, run_checks
from medzero.train.recipe import load_recipe

REPO = Path(__file__).resolve().parents[2]
RECIPES = REPO / "recipes"
VLM_RECIPES = ["qwen2.5-vl-3b-instruct-lora.yaml", "qwen2.5-vl-7b-instruct-lora.yaml"]
ROW_COLUMNS = ["answer", "answer_text", "id", "images", "options", "prompt", "question", "source"]


@pytest.fixture(scope="module")
def qwen_vl_dir(tmp_path_factory) -> Path:
    """A Qwen2.5-VL ``config.json`` (the real models' layout: vision tower under ``model.visual``,
    text tower under ``model.language_model``), tiny sizes."""
    from transformers import Qwen2_5_VLConfig

    cfg = Qwen2_5_VLConfig(
        text_config={
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "vocab_size": 1000,
            "max_position_embeddings": 128000,
        },
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "out_hidden_size": 64,
            "fullatt_block_indexes": [1],
        },
    )
    d = tmp_path_factory.mktemp("qwen-vl")
    cfg.save_pretrained(d)
    return d


def vlm_context(model_dir: Path, recipe, world_size: int = 1) -> Context:
    from medzero.rewards import build_reward_funcs
    from medzero.train.preflight import meta_module_names

    names = meta_module_names(str(model_dir), recipe, vision=True)
    assert names is not None, "the meta-device Qwen2.5-VL did not build"
    funcs, _ = build_reward_funcs(recipe.rewards, recipe.reward_params)
    return Context(
        world_size=world_size,
        has_cuda=True,
        model_config=json.loads((model_dir / "config.json").read_text()),
        module_names=names,
        columns=ROW_COLUMNS,
        num_prompts=400,  # the MedXpertQA-MM training pool of recipes/mixes/medxpertqa-mm.yaml
        reward_funcs=list(funcs),
    )


@pytest.mark.parametrize("name", VLM_RECIPES)
def test_vlm_recipe_passes_the_offline_checks(name, qwen_vl_dir):
    rec = load_recipe(RECIPES / name)
    assert rec.model.name_or_path.startswith("Qwen/Qwen2.5-VL-")
    assert rec.peft.active and not rec.peft.load_in_4bit
    assert rec.data.prepared == "data/medxpertqa-mm"
    # the cap is a whole number of Qwen2.5-VL visual tokens (28x28 pixels after the 2x2 merge) and
    # below the processor's own default cap (28 * 28 * 1280)
    assert rec.data.image_max_pixels % (28 * 28) == 0 and rec.data.image_max_pixels < 28 * 28 * 1280
    assert rec.grpo["use_vllm"] is False and rec.grpo["bf16"] is True
    for world in (1, 2, 4):
        found = run_checks(rec, vlm_context(qwen_vl_dir, rec, world))
        assert not errors(found), (name, world, errors(found))
    found = run_checks(rec, vlm_context(qwen_vl_dir, rec))
    (lora,) = [f for f in found if f.check == "lora_targets"]
    assert lora.severity == "info" and "language_model" in lora.message


@pytest.mark.parametrize("name", VLM_RECIPES)
def test_vlm_recipe_lora_adapts_the_text_tower_only(name, qwen_vl_dir):
    import re

    rec = load_recipe(RECIPES / name)
    names = vlm_context(qwen_vl_dir, rec).module_names
    hits = [n for n in names if re.fullmatch(rec.peft.target_modules, n)]
    # 2 text layers x 7 projections; none of the vision blocks' gate/up/down_proj, no lm_head
    assert len(hits) == 14 and all(".language_model." in n for n in hits)
    assert any(n.startswith("model.visual.") and n.endswith("mlp.gate_proj") for n in names)


def test_vlm_recipes_are_in_the_shipped_recipe_list():
    assert {p.name for p in RECIPES.glob("*.yaml")} >= set(VLM_RECIPES)


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("grpo.num_generation=8", "num_generations"),  # a typo in a GRPOConfig key
        ("data.image_max_pixel=401408", "image_max_pixels"),  # a typo in a medzero key
        ("peft.target_modules='(q_proj'", "not a valid regular expression"),
    ],
)
def test_a_typo_in_a_vlm_recipe_fails_at_load(override, needle):
    with pytest.raises(ConfigError, match=needle):
        load_recipe(RECIPES / VLM_RECIPES[0], [override])


def test_a_lora_regex_that_matches_nothing_is_an_error(qwen_vl_dir):
    rec = load_recipe(RECIPES / VLM_RECIPES[0], ["peft.target_modules='.*text_model.*\\.q_proj'"])
    found = errors(run_checks(rec, vlm_context(qwen_vl_dir, rec)))
    assert [f.check for f in found] == ["lora_targets"] and "matches no module" in found[0].message


def test_vlm_recipe_batches_break_where_the_checks_say(qwen_vl_dir):
    """The check is live on these recipes: 3 completions per question cannot fill their batches."""
    rec = load_recipe(RECIPES / VLM_RECIPES[1], ["grpo.num_generations=3"])
    found = errors(run_checks(rec, vlm_context(qwen_vl_dir, rec, 4)))
    assert [f.check for f in found] == ["batch"] and "multiple of 3" in found[0].message


def test_the_medxpertqa_mm_mix_parses_and_names_the_benchmark_layout():
    from medzero.data.mixes import MixEntry

    path = RECIPES / "mixes" / "medxpertqa-mm.yaml"
    (entry,) = [MixEntry(**e) for e in yaml.safe_load(path.read_text())]
    assert entry.source == entry.format == "medxpertqa_mm" and entry.stratify == "question_type"
    assert entry.count == 400 and entry.pool_frac == 0.2
    # the layout `medzero eval --benchmarks medxpertqa_mm --data-dir data` reads
    assert (path.parent / entry.path).resolve() == (REPO / "data" / "medxpertqa" / "MM" / "test.jsonl")


@pytest.mark.parametrize("name", VLM_RECIPES)
def test_train_check_on_the_vlm_recipe_offline(name, tmp_path, monkeypatch):
    """`medzero train RECIPE --check` without the model (not downloaded): the checks that need it
    are skipped, the recipe-level ones run on image questions and find no error on a GPU machine."""
    import medzero.train.preflight as pf
    from medzero.data.synthetic_scans import write_scans

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(pf, "has_cuda", lambda: True)
    write_scans(tmp_path, 8, seed=0)
    rec = load_recipe(RECIPES / name, [f"data.path={tmp_path / 'scans.jsonl'}"])
    pre = pf.preflight(rec, for_training=False)
    assert pre.processor is None and len(pre.rows) == 8 and pre.rows[0]["images"]
    assert not errors(pre.findings), errors(pre.findings)
    assert "batch" in {f.check for f in pre.findings}


def test_the_shipped_mix_prepares_medxpertqa_mm_data_the_recipes_train_on(tmp_path, monkeypatch):
    """recipes/mixes/medxpertqa-mm.yaml on a 10-question file in the MedXpertQA-MM layout (its
    count lowered to fit): the prepared folder keeps the images and holds the rest out, and the
    3B recipe's offline `--check` on it finds image rows and no error."""
    from PIL import Image
    from typer.testing import CliRunner

    import medzero.train.preflight as pf
    from medzero.cli import build_app

    mm = tmp_path / "data" / "medxpertqa" / "MM"
    (mm / "images").mkdir(parents=True)
    options = {"A": "Pneumothorax", "B": "Fracture", "C": "Normal", "D": "Effusion", "E": "Mass"}
    recs = []
    for i in range(10):
        Image.new("RGB", (20 + i, 16), (25 * i, 0, 0)).save(mm / "images" / f"MM-{i}.png")
        choices = " ".join(f"({k}) {v}" for k, v in options.items())
        recs.append({"id": f"MM-{i}", "question": f"What does scan {i} show?\nAnswer Choices: {choices}",
                     "options": options, "label": "ABCDE"[i % 5], "images": [f"MM-{i}.png"],
                     "medical_task": "Diagnosis", "body_system": "Skeletal",
                     "question_type": "Reasoning" if i % 2 else "Understanding"})  # fmt: skip
    (mm / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    mix = yaml.safe_load((RECIPES / "mixes" / "medxpertqa-mm.yaml").read_text())
    mix[0]["count"] = 2  # 20% of 10
    (tmp_path / "recipes" / "mixes").mkdir(parents=True)
    (tmp_path / "recipes" / "mixes" / "medxpertqa-mm.yaml").write_text(yaml.safe_dump(mix))
    out = tmp_path / "data" / "medxpertqa-mm"
    res = CliRunner().invoke(
        build_app(),
        ["data", "prepare", "--mix", str(tmp_path / "recipes/mixes/medxpertqa-mm.yaml"), "--seed", "42",
         "--out", str(out)],
        catch_exceptions=False,
    )  # fmt: skip
    assert res.exit_code == 0, res.stdout
    assert len((out / "heldout.jsonl").read_text().splitlines()) == 8
    monkeypatch.chdir(tmp_path)  # the recipe names data/medxpertqa-mm, relative to where it runs
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(pf, "has_cuda", lambda: True)
    pre = pf.preflight(load_recipe(RECIPES / VLM_RECIPES[0]), for_training=False)
    assert len(pre.rows) == 2 and all(Path(out / r["images"][0]).is_file() for r in pre.rows)
    assert not errors(pre.findings), errors(pre.findings)

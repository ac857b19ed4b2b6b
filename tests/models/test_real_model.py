"""The real Gemma 3 270M base model (the gguf extra) through from-gguf, GRPO and eval, on CPU.

The conversion is cached by the GGUF file's sha256 under $MEDZERO_GGUF_CACHE (default
~/.cache/medzero/gguf), so only the first session on a machine pays for it (about 2 minutes).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medzero.cli import build_app
from medzero.models.gguf import PACKAGED_SHA256, packaged_available

REPO_ROOT = Path(__file__).resolve().parents[2]
RECIPE = REPO_ROOT / "recipes" / "gemma-3-270m-cpu.yaml"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not packaged_available(),
        reason="the gguf extra is not installed (pip install 'medzero[gguf]'): no real Gemma 3 270M GGUF",
    ),
]


def _cli(*args):
    res = CliRunner().invoke(build_app(), [str(a) for a in args])
    assert res.exit_code == 0, res.output
    return res


@pytest.fixture(scope="module")
def real_model(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gemma") / "gemma-3-270m"
    res = _cli("model", "from-gguf", "--out", out)
    assert res.stdout.strip().splitlines()[-1] == str(out)
    return out


def test_from_gguf_writes_a_loadable_folder_with_provenance(real_model):
    marker = json.loads((real_model / "medzero_gguf.json").read_text())
    assert marker["sha256"] == PACKAGED_SHA256 and marker["architecture"] == "Gemma3ForCausalLM"
    readme = (real_model / "README.md").read_text()
    assert "google/gemma-3-270m" in readme and "Gemma Terms of Use" in readme
    assert (real_model / "GEMMA_TERMS.html").is_file() and (real_model / "model.safetensors").is_file()
    assert not (real_model / "tokenizer_config.json").read_text().count("chat_template")


def test_five_item_eval_uses_the_base_model_prompt(real_model, tmp_path):
    out = tmp_path / "eval"
    _cli("eval", "--model", real_model, "--benchmarks", "sample", "--limit", 5,
         "--max-new-tokens", 12, "--out", out)  # fmt: skip
    run = json.loads((out / "run.json").read_text())
    assert run["prompt_forms"] == {"sample": "r1zero-text"} and run["think_preopened"] is True
    items = [json.loads(x) for x in (out / "items.jsonl").read_text().splitlines()]
    assert len(items) == 5 and all(r["completion_tokens"] <= 12 for r in items)
    assert all(r["output"].count("</answer>") <= 1 for r in items)  # generation stops at </answer>


def test_two_grpo_steps_on_the_real_model(real_model, tmp_path):
    run = tmp_path / "run"
    sets = ["grpo.max_steps=2", "grpo.save_steps=2", "grpo.max_completion_length=12",
            "grpo.num_generations=2", "grpo.per_device_train_batch_size=2",
            f"model.name_or_path={real_model}", "model.gguf_file="]  # fmt: skip
    if not (REPO_ROOT.parent / "shared" / "data" / "huatuogpt_o1").is_dir():  # the recipe's questions
        sets += ["data.path=", "data.sample=true"]
    _cli("train", RECIPE, *(x for s in sets for x in ("--set", s)), "--out", run)
    info = json.loads((run / "run_info.json").read_text())
    assert info["status"] == "finished" and info["global_step"] == 2
    assert info["prompt_form"] == "r1zero-text" and info["think_preopened"] is True
    rows = [json.loads(x) for x in (run / "completions.jsonl").read_text().splitlines()]
    assert {r["step"] for r in rows} == {1, 2} and set(rows[0]["rewards"]) == {
        "accuracy",
        "format",
        "tag_count",
    }
    assert (run / "final" / "adapter_model.safetensors").is_file()

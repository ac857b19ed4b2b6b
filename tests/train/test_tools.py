"""Training with the search tool: recipe section, --check, TRL's tool loop, loss mask, completions log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medzero.errors import ConfigError
from medzero.train.recipe import recipe_from_dict

DOCS = [
    {"id": "zorvatine", "title": "Zorvatine", "text": "Zorvatine is a statin."},
    {"id": "kelbidone", "title": "Kelbidone", "text": "Kelbidone is a beta blocker."},
]
CALL = '<think>look</think><tool_call>{"name": "search", "arguments": {"query": "zorvatine"}}</tool_call></s>'
ANSWER = "<think>statin</think><answer>B</answer></s>"


@pytest.fixture
def index(tmp_path: Path) -> Path:
    from medzero.tools.corpus import build_index
    from medzero.tools.documents import read_documents

    src = tmp_path / "docs.jsonl"
    src.write_text("".join(json.dumps(d) + "\n" for d in DOCS))
    docs, skipped, sources = read_documents([src])
    build_index(docs, tmp_path / "index", sources=sources, skipped=skipped)
    return tmp_path / "index"


def _raw(model: str, index: Path, **extra) -> dict:
    return {
        "model": {"name_or_path": model},
        "data": {"synthetic": 8},
        "tools": {"search": {"index": str(index), "k": 1, "max_calls": 1}},
        "grpo": {
            "max_steps": 1,
            "per_device_train_batch_size": 4,
            "num_generations": 4,
            "max_completion_length": 160,
            "gradient_checkpointing": False,
            "learning_rate": 1e-3,
            "beta": 0.0,
            "save_strategy": "no",
            "seed": 0,
        },
        **extra,
    }


def test_recipe_tools_section_is_validated():
    base = {"model": {"name_or_path": "tiny"}, "data": {"synthetic": 4}}
    r = recipe_from_dict({**base, "tools": {"search": {"index": "idx"}}})
    assert (r.tools.search.k, r.tools.search.max_calls) == (3, 2)
    assert "tools" not in recipe_from_dict(base).to_dict()  # old recipes dump unchanged
    with pytest.raises(ConfigError, match=r'unknown key "tools\.search\.kk"'):
        recipe_from_dict({**base, "tools": {"search": {"index": "i", "kk": 1}}})
    with pytest.raises(ConfigError, match="max_calls must be an integer >= 1"):
        recipe_from_dict({**base, "tools": {"search": {"index": "i", "max_calls": 0}}})
    with pytest.raises(ConfigError, match=r"tools\.search\.max_calls"):
        recipe_from_dict(
            {**base, "tools": {"search": {"index": "i"}}, "grpo": {"max_tool_calling_iterations": 3}}
        )


def test_check_makes_the_tool_call_round_trip_an_error_only_with_tools(tiny_model_dir, index):
    from medzero.train.preflight import preflight

    pre = preflight(recipe_from_dict(_raw(str(tiny_model_dir), index)), for_training=False)
    tool_findings = {f.check: f.severity for f in pre.findings if f.check in ("tool_calls", "tools")}
    assert tool_findings == {"tool_calls": "info", "tools": "info"} and pre.ok

    plain = "{% for m in messages %}{{ m['content'] }}{% endfor %}"  # cannot show tools
    raw = _raw(str(tiny_model_dir), index)
    raw["model"]["chat_template"] = plain
    pre = preflight(recipe_from_dict(raw), for_training=False)
    errors = [f for f in pre.findings if f.severity == "error"]
    assert [f.check for f in errors] == ["tool_calls"] and "tools:" in errors[0].message
    raw.pop("tools")
    pre = preflight(recipe_from_dict(raw), for_training=False)
    assert pre.ok  # the same model without tools: only information

    bad = _raw(str(tiny_model_dir), index)
    bad["tools"]["search"]["index"] = str(index.parent / "missing")
    pre = preflight(recipe_from_dict(bad), for_training=False)
    assert [f.check for f in pre.findings if f.severity == "error"] == ["tools"]


def test_tool_results_are_masked_from_the_loss_and_calls_logged(tiny_model_dir, index, tmp_path, monkeypatch):
    """TRL's own tool loop runs with scripted generations (a random tiny model would not call a
    tool): the first turn calls search, the turn after the tool result answers. The tool result's
    tokens must be exactly the ones with tool_mask 0, and completions.jsonl must hold the call."""
    from transformers import AutoTokenizer

    from medzero.train import runner
    from medzero.train.trainer import MedzeroGRPOTrainer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    ids = lambda text: tok(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    seen: dict = {}

    def scripted(self, prompt_ids, images, multimodal_fields, num_generations, has_tool_images=False):
        outs = [ids(ANSWER) if "<|tool|>" in tok.decode(p) else ids(CALL) for p in prompt_ids]
        return outs, None

    original = MedzeroGRPOTrainer._generate_and_score_completions

    def capture(self, inputs):
        out = original(self, inputs)
        seen.setdefault("out", out)
        return out

    monkeypatch.setattr(MedzeroGRPOTrainer, "_generate_single_turn", scripted)
    monkeypatch.setattr(MedzeroGRPOTrainer, "_generate_and_score_completions", capture)
    recipe = recipe_from_dict(_raw(str(tiny_model_dir), index, rewards={"accuracy": 1.0, "search_cost": 0.1}))
    runner.train(recipe, tmp_path / "run", progress=False)

    out = seen["out"]
    mask = out["tool_mask"][0].tolist()
    completion = out["completion_ids"][0].tolist()
    valid = out["completion_mask"][0].tolist()
    masked = tok.decode([t for t, m, v in zip(completion, mask, valid, strict=True) if v and not m])
    trained = tok.decode([t for t, m, v in zip(completion, mask, valid, strict=True) if v and m])
    assert masked == "\n<|tool|>[zorvatine] Zorvatine is a statin.\n<|assistant|>"
    assert "Zorvatine is a statin" not in trained and "zorvatine" in trained  # the query is the model's

    rows = [json.loads(line) for line in (tmp_path / "run" / "completions.jsonl").read_text().splitlines()]
    assert len(rows) == 4
    row = rows[0]
    assert row["tool_calls"] == [
        {
            "name": "search",
            "query": "zorvatine",
            "ids": ["zorvatine"],
            "result": "[zorvatine] Zorvatine is a statin.",
        }
    ]
    assert "<tool_call>" in row["completion"] and "Zorvatine is a statin" not in row["completion"]
    assert row["rewards"]["search_cost"] == pytest.approx(-0.1)
    metrics = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert metrics[0]["tools/call_frequency"] == 1.0

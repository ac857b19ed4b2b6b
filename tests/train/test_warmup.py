import json

import pytest

from medzero.data.schema import MCQ
from medzero.data.synthetic import SYNTHETIC_PROMPT_CONFIG, drug_class_questions
from medzero.train.warmup import WarmupConfig, restated_fact, run_format_warmup, warmup_target


def test_target_restates_the_drug_and_carries_the_given_letter():
    q = drug_class_questions(1, seed=0, split="train")[0]
    assert restated_fact(q) == f"the drug is {q.meta['drug']}"
    assert warmup_target(q, "C") == f"<think>the drug is {q.meta['drug']}</think><answer>C</answer>"


def test_target_for_questions_without_a_drug_restates_the_last_sentence():
    q = MCQ("x", "sample", "A man has a cough. Which drug is best?", {"A": "a", "B": "b"}, "A")
    assert restated_fact(q) == "the question is: Which drug is best?"


@pytest.mark.parametrize("kw", [{"steps": 0}, {"batch_size": 0}, {"learning_rate": 2.0}])
def test_config_rejects_bad_values(kw):
    with pytest.raises(ValueError):
        WarmupConfig(**kw)


def test_warmup_lowers_the_loss_and_saves_a_loadable_model(tiny_model_dir, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    losses: list[float] = []
    qs = drug_class_questions(64, seed=0, split="train")
    out = run_format_warmup(
        tiny_model_dir,
        qs,
        tmp_path / "warm",
        steps=30,
        seed=0,
        prompt_cfg=SYNTHETIC_PROMPT_CONFIG,
        batch_size=8,
        on_step=lambda step, loss: losses.append(loss),
    )
    assert out == tmp_path / "warm" and len(losses) == 30
    assert sum(losses[-5:]) / 5 < 0.6 * sum(losses[:5]) / 5, losses
    model = AutoModelForCausalLM.from_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out)
    assert tok.padding_side == "left" and tok.chat_template
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    changed = [
        n
        for (n, p), (_, q) in zip(model.named_parameters(), base.named_parameters(), strict=True)
        if not p.equal(q)
    ]
    assert changed, "warm-up changed no parameter"
    assert json.loads((out / "config.json").read_text())["model_type"] == "llama"


def test_warmup_needs_questions(tiny_model_dir, tmp_path):
    with pytest.raises(ValueError, match="at least one question"):
        run_format_warmup(tiny_model_dir, [], tmp_path / "w", steps=1)

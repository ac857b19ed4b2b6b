"""The trainer ends a base model's completion at the prompt form's stop text (``</answer>``)."""

from __future__ import annotations

import pytest
from trl import GRPOTrainer

from medzero.train.trainer import MedzeroGRPOTrainer

EOS = 1


class CharTok:
    """One token per character; token 1 is EOS (dropped by skip_special_tokens)."""

    def decode(self, ids, skip_special_tokens=True):
        return "".join(chr(i) for i in ids if not (skip_special_tokens and i == EOS))


def ids(text):
    return [ord(c) for c in text]


@pytest.fixture
def trainer(monkeypatch):
    out = {}

    def fake_generate(self, prompt_ids, images, multimodal_fields, num_generations, *a, **kw):
        return out["ids"], out.get("logprobs")

    monkeypatch.setattr(GRPOTrainer, "_generate_single_turn", fake_generate)
    t = MedzeroGRPOTrainer.__new__(MedzeroGRPOTrainer)  # no model needed for this method
    t.stop_text, t.eos_token_ids, t._tokenizer = "</answer>", [EOS], CharTok()
    return t, out


def test_completions_are_cut_after_the_stop_and_closed_with_eos(trainer):
    t, out = trainer
    out["ids"] = [
        ids("x</think><answer>A</answer>\nUser: <think>"),
        ids("no answer yet"),
        [*ids("y</answer>"), EOS],
    ]
    got, logprobs = t._generate_single_turn([], None, {}, 3)
    assert got[0] == [*ids("x</think><answer>A</answer>"), EOS]
    assert got[1] == ids("no answer yet")  # untouched: TRL counts it as clipped
    assert got[2] == [*ids("y</answer>"), EOS]
    assert logprobs is None


def test_sampled_logprobs_are_cut_with_their_tokens_and_nothing_is_added(trainer):
    t, out = trainer
    out["ids"] = [ids("a</answer>bc")]
    out["logprobs"] = [[-0.1] * len(out["ids"][0])]
    got, logprobs = t._generate_single_turn([], None, {}, 1)
    assert got == [ids("a</answer>")] and logprobs == [[-0.1] * len(ids("a</answer>"))]


def test_without_a_stop_text_nothing_changes(trainer):
    t, out = trainer
    t.stop_text = None
    out["ids"] = [ids("a</answer>bc")]
    assert t._generate_single_turn([], None, {}, 1) == (out["ids"], None)

"""Prompt layouts for tokenizers with and without a chat template (base models)."""

from __future__ import annotations

import pytest

from medzero.data.prompts import (
    R1ZERO_SYSTEM_PROMPT,
    PromptConfig,
    build_messages,
    build_text,
    prompt_form,
    stop_cut,
)
from medzero.data.schema import MCQ

Q = MCQ(
    id="q1",
    question="Which vitamin deficiency causes scurvy?",
    options={"A": "C", "B": "D"},
    answer="A",
    source="t",
)


class ChatTok:
    chat_template = "x"

    def __init__(self, tail: str = ""):
        self.tail = tail

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=True):
        return "<|user|>" + messages[-1]["content"] + "<|assistant|>" + self.tail


def test_a_base_model_gets_r1zero_plain_text_prompt_that_opens_think():
    text = build_text(Q, PromptConfig(), None)
    assert text.startswith(R1ZERO_SYSTEM_PROMPT + "\nUser: Which vitamin")
    assert text.endswith("\nAssistant: <think>") and "System:" not in text
    form = prompt_form(build_messages(Q), None)
    assert (form.name, form.think_preopened, form.stop) == ("r1zero-text", True, "</answer>")
    assert "Assistant: <think>" in form.describe()
    # the same holds when the system prompt is folded into the user turn
    folded = build_messages(Q, PromptConfig(system_role="user"))
    assert prompt_form(folded, None).name == "r1zero-text"


def test_without_think_tags_the_plain_layout_keeps_roles():
    text = build_text(Q, PromptConfig(template="plain"), None)
    assert text.startswith("User: Which vitamin") and text.endswith("\nAssistant:")
    form = prompt_form(build_messages(Q, PromptConfig(template="plain")), None)
    assert (form.name, form.think_preopened, form.stop) == ("roles-text", False, None)


@pytest.mark.parametrize(("tail", "opened"), [("", False), ("<think>\n", True)])
def test_a_chat_template_wins_and_decides_think(tail, opened):
    tok = ChatTok(tail)
    form = prompt_form(build_messages(Q), tok)
    assert (form.name, form.think_preopened, form.stop) == ("chat", opened, None)
    assert build_text(Q, PromptConfig(), tok).startswith("<|user|>")


class CharTok:
    """One token per character (decode joins them)."""

    def decode(self, ids, skip_special_tokens=True):
        return "".join(chr(i) for i in ids)


def test_stop_cut_keeps_up_to_the_first_stop():
    tok = CharTok()
    ids = [ord(c) for c in "x </answer> more </answer>"]
    at = stop_cut(ids, tok, "</answer>")
    assert tok.decode(ids[:at]) == "x </answer>"
    assert stop_cut(ids[:5], tok, "</answer>") is None

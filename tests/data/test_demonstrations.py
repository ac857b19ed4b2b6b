"""One-shot prompting: a worked example before the question (``prompt.demonstration``)."""

from __future__ import annotations

import pytest

from medzero.data.demonstrations import DEMONSTRATIONS
from medzero.data.prompts import PromptConfig, build_messages, build_text, prompt_form
from medzero.data.schema import MCQ
from medzero.errors import ConfigError
from medzero.extract import extract
from medzero.rewards.structure import well_formatted

Q = MCQ(
    id="q1",
    question="Which vitamin deficiency causes scurvy?",
    options={"A": "C", "B": "D"},
    answer="A",
    source="t",
)


def test_a_base_model_sees_the_example_exchange_then_the_question():
    text = build_text(Q, PromptConfig(demonstration="anemia"), None)
    demo = DEMONSTRATIONS.get("anemia")
    # instructions, the example's User/Assistant exchange, then the question's own turn
    first_user, own_user = text.index("\nUser: A 25-year-old"), text.index("\nUser: Which vitamin")
    reply = text.index("\nAssistant: <think> Tiredness")
    assert 0 < first_user < reply < own_user
    assert text.endswith("inside <answer> </answer>.\nAssistant: <think>")
    assert text.count("Assistant:") == 2 and "(C) Iron" in text
    assert prompt_form(build_messages(Q, PromptConfig(demonstration="anemia")), None).name == "r1zero-text"
    # the example's reply is itself in the rewarded format, its answer readable by the extractor
    body = demo.reply(tagged=True).removeprefix("<think>")
    assert well_formatted(body, think_preopened=True)
    assert extract(body, demo.options, "strict", think_preopened=True).letter == demo.answer


def test_chat_messages_and_templates_without_tags():
    msgs = build_messages(Q, PromptConfig(demonstration="anemia"))
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert msgs[-1]["content"].startswith("Which vitamin")
    folded = build_messages(Q, PromptConfig(demonstration="anemia", system_role="user"))
    assert [m["role"] for m in folded] == ["user", "assistant", "user"]
    assert folded[0]["content"].startswith("A conversation") and "A 25-year-old" in folded[0]["content"]
    plain = build_messages(Q, PromptConfig(template="plain", demonstration="anemia"))
    assert plain[1]["content"].endswith("The answer is (C).") and "<answer>" not in plain[1]["content"]
    assert build_messages(Q, PromptConfig()) == build_messages(Q, PromptConfig(demonstration=None))


def test_unknown_names_and_image_questions_are_clear_errors():
    with pytest.raises(ConfigError, match=r'unknown demonstration "anaemia"\. Did you mean "anemia"'):
        PromptConfig(demonstration="anaemia").resolved()
    with_image = MCQ(
        id="x1",
        question="What is shown?",
        options={"A": "a", "B": "b"},
        answer="A",
        source="t",
        images=["/tmp/scan.png"],
    )
    with pytest.raises(ConfigError, match="x1 has images"):
        build_messages(with_image, PromptConfig(demonstration="anemia"))


def test_every_registered_example_is_a_valid_question():
    for name in DEMONSTRATIONS.names():
        demo = DEMONSTRATIONS.get(name)
        assert demo.mcq().answer in demo.options and demo.reasoning.strip()

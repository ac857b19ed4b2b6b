"""Prompt templates: the ``seed`` template renders the seed study's exact prompt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medzero.data.prompts import (
    SEED_SYSTEM_PROMPT,
    TEMPLATES,
    PromptConfig,
    build_messages,
    build_text,
    render_user,
)
from medzero.data.schema import MCQ

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

# The seed's SYSTEM_PROMPT as Python repr (from its grpo.py): typo and missing spaces included.
SEED_REPR = (
    "'A conversation between user and assistant. The user asks a question, and the assistant solves it. "
    "The assistant first thinks about the reasoning process in the mind and then provides the user with "
    "the answer.The reasoning process is to solve the problem step by step, so you will think about it "
    "sinceraly.The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> "
    "tags, respectively, i.e., <think> reasoning process here </think><answer> answer here </answer>'"
)

# Self-written records in the two sources' shapes (not benchmark text).
MEDQA = MCQ(
    id="q1",
    source="medqa",
    question="A 24-year-old runner has shin pain after doubling her mileage. Which test is best next?",
    options={"A": "Bone scan", "B": "MRI of the tibia", "C": "Plain radiograph", "D": "No test"},
    answer="C",
)
MEDXPERTQA = MCQ(
    id="Text-x",
    source="medxpertqa",
    question="A 61-year-old man has a painless jaundice and a palpable gallbladder. Most likely cause?",
    options={"A": "Gallstones", "B": "Pancreatic head tumour", "C": "Hepatitis A"},
    answer="B",
)


def test_seed_system_prompt_byte_for_byte() -> None:
    assert repr(SEED_SYSTEM_PROMPT) == SEED_REPR
    assert TEMPLATES.get("seed").system_prompt == SEED_SYSTEM_PROMPT


def test_seed_template_pins_both_record_shapes() -> None:
    cfg = PromptConfig(template="seed")
    assert build_messages(MEDQA, cfg) == [
        {"role": "system", "content": SEED_SYSTEM_PROMPT},
        {
            "role": "user",
            "content": "A 24-year-old runner has shin pain after doubling her mileage. Which test is best "
            "next?\nAnswer Choices: (A) Bone scan (B) MRI of the tibia (C) Plain radiograph (D) No test ",
        },
    ]
    assert render_user(MEDXPERTQA, cfg) == (
        "A 61-year-old man has a painless jaundice and a palpable gallbladder. Most likely cause?"
        "\nAnswer Choices: (A) Gallstones (B) Pancreatic head tumour (C) Hepatitis A"
    )
    # without a chat template (a base model): R1-Zero's plain-text completion prompt around the same
    # two turns, since the seed's system prompt asks for think tags (docs/training.md)
    assert build_text(MEDXPERTQA, cfg) == (
        f"{SEED_SYSTEM_PROMPT}\nUser: {render_user(MEDXPERTQA, cfg)}\nAssistant: <think>"
    )
    # overrides still apply: an instruction line, the system prompt folded into the user turn
    with_instr = render_user(MEDQA, PromptConfig(template="seed", instruction="Answer with a letter."))
    assert with_instr.endswith("(D) No test \n\nAnswer with a letter.")
    folded = build_messages(MEDQA, PromptConfig(template="seed", system_role="user"))
    assert len(folded) == 1 and folded[0]["content"].startswith(SEED_SYSTEM_PROMPT + "\n\n")


def test_other_templates_keep_one_option_per_line() -> None:
    assert "\n(B) MRI of the tibia\n" in render_user(MEDQA, PromptConfig())


@pytest.mark.skipif(not (DATA / "medxpertqa" / "text_test.jsonl").is_file(), reason="no benchmark data")
def test_seed_template_reproduces_the_seed_questions_on_real_files() -> None:
    from medzero.data.loaders import load_mcqs

    path = DATA / "medxpertqa" / "text_test.jsonl"
    raw = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    cfg = PromptConfig(template="seed")
    differ = [
        m.id
        for r, m in zip(raw, load_mcqs(path).records, strict=True)
        if render_user(m, cfg) != r["question"]
    ]
    # The seed used MedXpertQA's question text as is. Rendering from the options field gives the
    # same bytes except for the two questions whose inline choices disagree with their own options
    # field (docs/reproduce.md, deviations).
    assert differ == ["Text-2230", "Text-2270"]
    path = DATA / "medqa" / "US_test_5options.jsonl"
    raw = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for r, m in zip(raw, load_mcqs(path).records, strict=True):
        seed_turn = (
            r["question"] + "\nAnswer Choices: " + "".join(f"({k}) {v} " for k, v in r["options"].items())
        )
        assert render_user(m, cfg) == seed_turn

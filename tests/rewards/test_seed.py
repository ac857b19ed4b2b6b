"""The seed's rewards (``rewards: seed``): every case of its accuracy, format and xmlcount rules.

Inputs come from the seed's own code and tests (public Qsingle/open-medical-r1): the cases its
``verify`` distinguishes (letter, "(letter)", gold-text prefix, dict option, no tag) and the
format inputs of its ``tests/test_rewards.py``. That test file asserts 1.0 for the well-formed
input; the seed's ``format_reward`` itself returns soft + strict = 2.0 for it (the test was
inherited from Open-R1 and never updated), and 2.0 is what training saw, so 2.0 is pinned here.
"""

from __future__ import annotations

import doctest

import pytest

import medzero.rewards.seed
from medzero.errors import ConfigError
from medzero.rewards import (
    PRESETS,
    SeedAccuracy,
    SeedFormat,
    SeedXmlCount,
    build_reward_funcs,
    check_reward_weights,
    resolve_rewards,
)
from medzero.rewards.seed import seed_accuracy_value, seed_format_value, seed_xmlcount_value

OPTIONS = ["Zinc deficiency", "Iron deficiency", "Folate deficiency", "Lead poisoning"]


def test_doctests() -> None:
    assert doctest.testmod(medzero.rewards.seed).failed == 0


@pytest.mark.parametrize(
    ("text", "option", "expected"),
    [
        ("<think>x</think><answer>B</answer>", "Iron deficiency", 2.0),  # the letter
        ("<think>x</think><answer>(B)</answer>", "Iron deficiency", 2.0),  # "(" + letter + ")"
        ("<answer>\n  B \n</answer>", "Iron deficiency", 2.0),  # stripped; no <think> needed
        ("<answer>b</answer>", "Iron deficiency", 0.0),  # letter compare is case-sensitive
        ("<answer>B.</answer>", "Iron deficiency", 0.0),  # "B." is neither the letter nor the text
        ("<answer>(B) Iron deficiency</answer>", "Iron deficiency", 0.0),  # starts with "(B)", not the text
        ("<answer>iron DEFICIENCY anaemia</answer>", "Iron deficiency", 1.0),  # text prefix, any case
        ("<answer>Iron</answer>", "Iron deficiency", 0.0),  # a prefix of the gold text is not enough
        ("<answer>It is iron deficiency</answer>", "Iron deficiency", 0.0),  # must *start* with it
        ("<answer>Iron deficiency</answer>", {"A": "Zinc", "B": "Iron deficiency"}, 0.0),  # dict: exception
        ("<answer>Iron deficiency</answer>", None, 0.0),  # no option: no credit
        ("<answer>Iron (Fe) deficiency?</answer>", "Iron (Fe) deficiency?", 1.0),  # text escaped, not a regex
        ("<think>B</think> B", "Iron deficiency", 0.0),  # no <answer> block
        ("<answer>B</answer", "Iron deficiency", 0.0),  # unclosed
        # greedy: from the first <answer> to the last </answer>
        ("<answer>A</answer> wait <answer>B</answer>", "Iron deficiency", 0.0),
        ("<answer>Iron deficiency</answer> no: <answer>A</answer>", "Iron deficiency", 1.0),
    ],
)
def test_seed_accuracy_cases(text: str, option: object, expected: float) -> None:
    assert seed_accuracy_value(text, "B", option) == expected


def test_seed_accuracy_reward_rows() -> None:
    comps = ["<answer>B</answer>", "<answer>Iron deficiency</answer>", "<answer>Iron deficiency</answer>"]
    kw = {"answer": ["B"] * 3, "options": [OPTIONS] * 3, "source": ["medqa", "medqa", "medxpertqa"]}
    assert SeedAccuracy()(comps, **kw) == [2.0, 1.0, 0.0]  # MedXpertQA rows never got the text credit
    assert SeedAccuracy(dict_option_sources=[])(comps, **kw) == [2.0, 1.0, 1.0]
    # the gold text column wins over the option list; chat messages are read like TRL passes them
    conv = [[{"role": "assistant", "content": "<answer>iron deficiency</answer>"}]]
    assert SeedAccuracy()(conv, answer=["B"], options=[OPTIONS], answer_text=["Iron deficiency"]) == [1.0]
    assert SeedAccuracy()(comps[:1], answer=[None]) == [None]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the seed's tests/test_rewards.py inputs
        ("<think>Some reasoning</think><answer>The answer</answer>", 2.0),
        ("<think>Only thinking</think>", 0.0),
        ("<answer>Only answer</answer>", 0.0),
        ("No tags at all", 0.0),
        ("<think>Missing closing</think><answer>Missing closing", 0.0),
        ("<think>Wrong order</answer><answer>Wrong order</think>", 0.0),
        # soft only: text after </answer>, or two whitespace characters between the blocks
        ("<think>x</think><answer>A</answer> because", 1.0),
        ("<think>x</think>\n\n<answer>A</answer>", 0.0),  # [\s\n]{0,1}: one at most, both fail
        ("<think>x</think>\n<answer>A</answer>\n", 2.0),  # strict's $ also matches before a final newline
        ("<think>x</think>\n<answer>A</answer>\n\n", 1.0),
        (" <think>x</think><answer>A</answer>", 0.0),  # re.match: must start with <think>
        ("<think></think><answer></answer>", 2.0),  # empty blocks are fine
        # .*? runs across extra tags, so repeated blocks still match
        ("<think>a</think><answer>A</answer><answer>B</answer>", 2.0),
        ("<think>a</think>b</think><answer>A</answer>", 2.0),
    ],
)
def test_seed_format_cases(text: str, expected: float) -> None:
    assert seed_format_value(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<think>a</think><answer>A</answer>", 1.0),
        ("<answer>A</answer>", 0.5),
        ("<think>a</think><think>b</think><answer>A</answer>", 0.5),  # repeated tags earn nothing
        ("</ think><think>a</think><answer>A</answer>", 1.0),  # malformed fragments are not counted
        ("no tags", 0.0),
    ],
)
def test_seed_xmlcount_cases(text: str, expected: float) -> None:
    assert seed_xmlcount_value(text) == expected


def test_preset_and_registry() -> None:
    assert resolve_rewards("seed") == {"seed_accuracy": 1.0, "seed_format": 1.0, "seed_xmlcount": 1.0}
    assert "seed" in PRESETS.names()
    with pytest.raises(ConfigError, match='Did you mean "seed"'):
        resolve_rewards("sed")
    funcs, weights = build_reward_funcs(resolve_rewards("seed"))
    assert [type(f) for f in funcs] == [SeedAccuracy, SeedFormat, SeedXmlCount] and weights == [1.0] * 3
    best = "<think>Low ferritin.</think>\n<answer>B</answer>"
    kw = {"answer": ["B"], "options": [OPTIONS]}
    assert sum(f([best], **kw)[0] for f in funcs) == 5.0  # the seed's maximum


def test_weight_check_explains_the_seed_preset() -> None:
    warning, listing = check_reward_weights(resolve_rewards("seed"))
    # and a list of options starting with the gold text earns the text credit: 1 + 2 + 1 = 4, above
    # a committed guess among 10 options (5 / 10 + 3 * 9 / 10 = 3.2)
    assert (
        seed_accuracy_value("<answer>Iron deficiency or zinc deficiency</answer>", "B", "Iron deficiency")
        == 1.0
    )
    assert listing.startswith("listing several options can score 4.00, at least the 3.20")
    # a well-formatted wrong answer (0 + 2 + 1) outranks the right one without thinking (2 + 0 + 0.5)
    assert "totals 3.00, above the right answer without its thinking" in warning and "2.50" in warning
    assert "rewards: seed" in warning and "not an error" in warning
    # with accuracy weighted up the ranking warning goes; only the listing one stays
    heavier = check_reward_weights({"seed_accuracy": 4.0, "seed_format": 1.0, "seed_xmlcount": 1.0})
    assert [w[:24] for w in heavier] == ["listing several options "]  # the text credit still pays lists
    (other,) = check_reward_weights({"accuracy": 2.0, "format": 1.0, "tag_count": 1.0})
    assert "rewards: seed" not in other and "For example" not in other

"""Robustness of medzero.extract: random and adversarial inputs never raise, results keep their
invariants, and 1 MB adversarial strings finish (linear-time scans; a hang fails by timeout)."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medzero.extract import (
    METHODS,
    MODES,
    REASONS,
    Extraction,
    extract,
    extract_all,
    first_commitment,
    lenient_candidates,
)

# Pieces that exercise every rule: tags, statement words, markup, letters, hedges, pronouns.
FRAGMENTS = [
    "<think>", "</think>", "<answer>", "</answer>", "<answer", "answer", "Answer:", "answer is ",
    "ANSWER", "The answer is ", "Final answer: ", "\\boxed{", "}", "(", ")", "**", "*", "_", ".",
    ",", "/", " or ", " and ", "A", "B", "C", "I", "J", "Z", "a", "b", "i", " ", "\n", "\t",
    "I think ", "A patient ", "## Final Response\n\n", "option ", "Option B", "é", "中", "\x00",
]  # fmt: skip
OPTIONS = [
    {"A": "Iron deficiency", "B": "Folate deficiency", "C": "answer", "D": "I"},
    ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"],
    [chr(65 + i) for i in range(26)],
    ["yes", "no", "maybe"],
]


def _check(res: Extraction, text: str, valid: set[str]) -> None:
    assert isinstance(res, Extraction)
    assert res.method is None or res.method in METHODS
    assert res.reason is None or res.reason in REASONS
    if res.letter is not None:
        assert res.reason is None and res.letter in valid
        assert 0 <= res.start < res.end <= len(text)
    else:
        assert res.reason is not None


def _valid(options: object) -> set[str]:
    return set(options) if isinstance(options, dict) else {chr(65 + i) for i in range(len(options))}


def _run_everything(text: str, options: object) -> None:
    valid = _valid(options)
    for preopened in (False, True):
        for res in extract_all(text, options, think_preopened=preopened).values():
            _check(res, text, valid)
    _check(first_commitment(text, options), text, valid)
    for res in lenient_candidates(text, options):
        _check(res, text, valid)


fragment_text = st.lists(st.sampled_from(FRAGMENTS), max_size=60).map("".join)


@settings(max_examples=150, deadline=None)
@given(text=st.one_of(st.text(max_size=300), fragment_text), which=st.integers(0, len(OPTIONS) - 1))
def test_random_text_keeps_invariants(text: str, which: int) -> None:
    _run_everything(text, OPTIONS[which])


@settings(max_examples=60, deadline=None)
@given(body=fragment_text, letter=st.sampled_from("ABCD"))
def test_a_clean_final_answer_always_wins(body: str, letter: str) -> None:
    """Whatever junk comes before a closed thinking block, a single final tag is read."""
    text = f"<think>{body.replace('</think>', '').replace('<think>', '')}</think>\n<answer>{letter}</answer>"
    assert extract(text, OPTIONS[0]).letter == letter


@pytest.mark.timeout(120)
@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(
    pieces=st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=8),
    size=st.sampled_from([1_000, 30_000, 1_000_000]),
)
def test_adversarial_strings_up_to_a_megabyte_finish(pieces: list[str], size: int) -> None:
    unit = "".join(pieces)
    text = unit * (size // len(unit) + 1)
    for mode in MODES:
        _check(extract(text, OPTIONS[2], mode=mode), text, _valid(OPTIONS[2]))
    _check(first_commitment(text, OPTIONS[2]), text, _valid(OPTIONS[2]))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("size", [100_000, pytest.param(1_000_000, marks=pytest.mark.slow)])
@pytest.mark.parametrize(
    "unit",
    [
        "answer is ",  # a statement at every position, none with a letter
        "<answer>",  # unclosed tags everywhere
        "A or ",  # one long hedge
        "(((((",  # openers with no letter
        " ",  # whitespace only
        "answer answer: **(",  # statement words and markup
        "<think>",  # think opened over and over
        "A ",  # articles: the lone-letter trap, repeated
        "B" * 999 + " ",  # long words of option letters
        "(A) x\n(B) y\n",  # an echoed option list over and over
        "not B ",  # negated letters everywhere
        "Iron or ",  # one long hedge of option texts
        "Answer: B\nExplanation: ",  # explanation headings everywhere
    ],
)
def test_pathological_strings_finish(unit: str, size: int) -> None:
    """Linear scans: 100 kB here, 1 MB in the slow suite (a quadratic scan takes hours there)."""
    text = unit * (size // len(unit) + 1)
    for options in (OPTIONS[0], OPTIONS[1]):  # with option texts and with letters only
        for mode in MODES:
            _check(extract(text, options, mode=mode), text, _valid(options))


def test_ten_thousand_random_inputs_never_raise() -> None:
    rng = random.Random(20250101)
    for i in range(10_000):  # about 5 s
        k = rng.randint(0, 40)
        if i % 4 == 0:  # raw characters, including control and non-BMP ones
            text = "".join(chr(rng.choice([rng.randint(0, 127), rng.randint(0, 0x10FFFF)])) for _ in range(k))
        else:
            text = "".join(rng.choice(FRAGMENTS) for _ in range(k))
        options = OPTIONS[i % len(OPTIONS)]
        text = text.encode("utf-8", "replace").decode("utf-8")
        for mode in MODES:
            _check(extract(text, options, mode=mode, think_preopened=bool(i % 2)), text, _valid(options))
        if i % 10 == 0:
            _run_everything(text, options)

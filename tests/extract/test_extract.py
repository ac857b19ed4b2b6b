"""Unit tests for medzero.extract: each case names the pattern it covers."""

from __future__ import annotations

import doctest

import pytest

import medzero.extract
from medzero.extract import MODES, Extraction, extract, extract_all, first_commitment, lenient_candidates

ABCD = ["A", "B", "C", "D"]
TEN = list("ABCDEFGHIJ")
OPTS = {
    "A": "Benign carrier",
    "B": "Folate deficiency",
    "C": "Iron deficiency",
    "D": "Parvovirus B19 infection",
}


def test_doctests() -> None:
    assert doctest.testmod(medzero.extract).failed == 0


@pytest.mark.parametrize(
    ("text", "letter", "method"),
    [
        ("<answer>B</answer>", "B", "answer_tag"),
        ("<answer>(B) text</answer>", "B", "answer_tag"),
        ("<answer> b. </answer>", "B", "answer_tag"),
        ("<answer>**C**</answer>", "C", "answer_tag"),
        ("<answer>Option D</answer>", "D", "answer_tag"),
        ("<think>hmm</think>\n<answer>B. Folate deficiency</answer>", "B", "answer_tag"),
        ("Answer: B", "B", "answer_colon"),
        ("ANSWER: c", "C", "answer_colon"),
        ("**Answer:** B", "B", "answer_colon"),
        ("**Final Answer**: D", "D", "answer_colon"),
        ("Reasoning.\nThe answer is **B**", "B", "answer_is"),
        ("so the answer is (B).", "B", "answer_is"),
        ("The correct answer is: [C]", "C", "answer_is"),
        ("The answer is A because it fits.", "A", "answer_is"),
        ("The answer is likely D.", "D", "answer_is"),
        ("Thus $\\boxed{B}$", "B", "boxed"),
        ("\\boxed{\\text{C}}", "C", "boxed"),
        ("Long reasoning.\n\nFinal Answer:\n\n**C**", "C", "answer_colon"),
        ("Reasoning.\n\n## Final Answer\n\nB", "B", "answer_colon"),  # a heading, choice below
        ("Reasoning.\n**Answer**\n(D)", "D", "answer_colon"),
        ("<think>I am sure</think><answer>Parvovirus B19 infection</answer>", "D", "option_text"),
    ],
)
def test_strict_reads_explicit_final_answers(text: str, letter: str, method: str) -> None:
    res = extract(text, OPTS)
    assert (res.letter, res.method, res.reason) == (letter, method, None)
    assert text[res.start : res.end].lower().startswith(letter.lower()) or method == "option_text"


def test_letters_beyond_d() -> None:
    assert extract("Final answer: H", TEN).letter == "H"
    assert extract("The answer is (J).", TEN).letter == "J"
    assert extract("<answer>Z</answer>", [chr(65 + i) for i in range(26)]).letter == "Z"
    assert extract("The answer is (I).", TEN).letter == "I"


@pytest.mark.parametrize(
    "text",
    [
        "The answer is A or B.",
        "Answer: A/B",
        "Answer: A, C",
        "<answer>A and C</answer>",
        "<answer>A, B, C, D</answer>",  # all letters listed
        "<answer>(A) or (B)</answer>",
        "<answer>A</answer>\n<answer>B</answer>",  # two different answer tags
    ],
)
def test_hedges_are_never_an_answer(text: str) -> None:
    for mode in MODES:
        res = extract(text, ABCD, mode=mode)
        assert res.letter is None and res.reason == "hedge", (mode, res)


def test_words_after_a_letter_are_not_hedges() -> None:
    assert extract("The answer is B, a deficiency of folate.", ABCD).letter == "B"
    assert extract("The answer is B and I am sure.", TEN).letter == "B"
    assert extract("<answer>b or c</answer>", ABCD).letter is None


def test_same_letter_twice_is_not_a_hedge() -> None:
    assert extract("<answer>B</answer><answer>B</answer>", ABCD).letter == "B"
    assert extract("The answer is B, because B fits.", ABCD).letter == "B"


def test_unknown_letter_is_none_not_a_guess() -> None:
    res = extract("<answer>F</answer>", ABCD)
    assert (res.letter, res.reason) == (None, "unknown_letter")
    assert extract("The answer is (H).", ABCD, mode="lenient").reason == "unknown_letter"


@pytest.mark.parametrize(
    "text",
    [
        "The answer is A deficiency of folate.",  # article, not option A
        "Answer: I think it is unclear.",  # pronoun, not option I
        "The answer is a deficiency.",  # lower-case article
    ],
)
def test_lone_letter_trap(text: str) -> None:
    for mode in ("strict", "last"):
        assert extract(text, TEN, mode=mode).letter is None, mode


def test_pronoun_i_is_not_read_by_lenient() -> None:
    assert extract("I think so, but I am not sure.", TEN, mode="lenient").letter is None
    assert extract("A patient has a rash. I'd pick (C)", TEN, mode="lenient").letter == "C"


def test_think_preopened_and_unclosed_think() -> None:
    text = "The answer is B? No.</think><answer>C</answer>"
    assert extract(text, ABCD, think_preopened=True).letter == "C"
    only_think = "Let me think. The answer is B."
    res = extract(only_think, ABCD, think_preopened=True)
    assert (res.letter, res.reason) == (None, "unclosed_think")
    assert extract(only_think, ABCD).letter == "B"  # without the flag it is a plain answer
    assert extract("<think>The answer is B", ABCD).reason == "unclosed_think"
    assert extract("<think>The answer is B", ABCD, mode="last").letter == "B"


def test_answer_only_inside_thinking() -> None:
    text = "<think>The answer is B.</think>I am not sure."
    res = extract(text, ABCD)
    assert (res.letter, res.reason) == (None, "answer_in_think")
    assert extract(text, ABCD, mode="last").letter == "B"


def test_truncated_answer_tag() -> None:
    res = extract("<think>x</think><answer>B", ABCD)
    assert (res.letter, res.reason) == (None, "truncated")


def test_strict_needs_the_statement_at_the_end() -> None:
    text = "The answer is (B).\n\nQuestion: next one\nOptions: ...\nLet me think step by step about it."
    assert extract(text, ABCD).letter is None
    assert extract(text, ABCD, mode="last").letter == "B"


def test_last_takes_the_last_statement_and_final_line() -> None:
    text = "First I thought the answer is A.\nBut then the answer is C."
    assert extract(text, ABCD, mode="last").letter == "C"
    assert first_commitment(text, ABCD).letter == "A"
    res = extract("Some reasoning.\n\n**B**", ABCD, mode="last")
    assert (res.letter, res.method) == ("B", "bold")
    res = extract("Some reasoning.\n\nB. Folate deficiency", OPTS, mode="last")
    assert (res.letter, res.method) == ("B", "final_line")
    assert extract("Reasoning.\n\nC. difficile is likely.", OPTS, mode="last").letter is None


def test_first_commitment_reads_inside_the_thinking() -> None:
    text = "<think>Maybe the answer is A. Hmm, no, the answer is C.</think><answer>C</answer>"
    res = first_commitment(text, ABCD)
    assert (res.letter, res.method) == ("A", "answer_is")
    assert first_commitment("<think>no idea</think><answer>C</answer>", ABCD).reason == "no_answer"


def test_lenient_falls_back_to_lone_letters_then_option_text() -> None:
    res = extract("I would go with (C) here.", ABCD, mode="lenient")
    assert (res.letter, res.method) == ("C", "lone_letter")
    res = extract("This is a folate deficiency picture, rather than iron deficiency.", OPTS, mode="lenient")
    assert (res.letter, res.method) == ("C", "option_text")
    first, last = lenient_candidates(
        "This is a folate deficiency picture, rather than iron deficiency.", OPTS
    )
    assert (first.letter, last.letter) == ("B", "C")
    # a negated mention is no candidate: "not iron deficiency" leaves folate
    first, last = lenient_candidates("This is a folate deficiency picture, not iron deficiency.", OPTS)
    assert (first.letter, last.letter) == ("B", "B")
    assert extract("No idea at all.", OPTS, mode="lenient").reason == "no_answer"


def test_lenient_reads_after_the_final_response_header() -> None:
    text = "## Thinking\n\nThe answer is A.\n\n## Final Response\n\nThe answer is D."
    assert extract(text, ABCD, mode="lenient").letter == "D"
    assert lenient_candidates(text, ABCD)[0].letter == "D"


def test_chat_messages_and_options_shapes() -> None:
    msgs = [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "<answer>B</answer>"}]
    assert extract(msgs, ABCD).letter == "B"
    assert extract([{"content": "<answer>B</answer>"}], ABCD).letter == "B"  # TRL without role
    parts = [{"role": "assistant", "content": [{"type": "text", "text": "Answer: C"}]}]
    assert extract(parts, "ABCD").letter == "C"
    assert extract("<answer>Iron deficiency</answer>", list(OPTS.values())).letter == "C"


def test_empty_and_no_answer() -> None:
    assert extract("", ABCD).reason == "empty"
    assert extract("   \n", ABCD, mode="lenient").reason == "empty"
    assert extract("Nothing here.", ABCD).reason == "no_answer"


def test_extract_all_and_to_dict() -> None:
    res = extract_all("<answer>B</answer>", ABCD)
    assert set(res) == set(MODES)
    assert res["strict"].to_dict() == {
        "letter": "B",
        "method": "answer_tag",
        "start": 8,
        "end": 9,
        "reason": None,
    }
    assert isinstance(res["last"], Extraction)
    with pytest.raises(ValueError, match="unknown extraction mode"):
        extract("x", ABCD, mode="greedy")


def test_a_list_of_answer_lines_is_a_hedge() -> None:
    text = "Q1.\nThe answer is (A).\nThe answer is (D).\n"
    assert extract(text, ABCD).reason == "hedge"
    assert extract(text, ABCD, mode="last").letter == "D"  # last: the last statement, by definition
    assert extract("Answer: B\nAnswer: B", ABCD).letter == "B"
    assert extract("Answer: A\nAnswer: B\nAnswer: C\nAnswer: D", ABCD).reason == "hedge"
    # a self-correction inside a paragraph is not a list
    assert extract("The answer is A. No wait, the answer is B.", ABCD).letter == "B"


@pytest.mark.parametrize(
    ("text", "letter"),
    [
        ("<think>x</think><answer>The answer is B</answer>", "B"),  # a statement inside the tag
        ("<think>x</think><answer>I would pick (C)</answer>", "C"),  # a final choice token
        ("<think>x</think><answer>I think **C**</answer>", "C"),
        ("<think>x</think><answer>deficiency of vitamin B</answer>", None),  # B is a word here
        ("Therefore, the correct option is B.", "B"),
        ("The best choice is: (D)", "D"),
        ("This option is B", None),  # "option" needs a qualifier (correct, best, ...)
        ("Let me verify the answer\nA. Benign carrier", None),  # a sentence, not a heading
    ],
)
def test_tag_contents_and_option_statements(text: str, letter: str | None) -> None:
    assert extract(text, OPTS).letter == letter


def test_bench_script_runs_on_synthetic_data(load_bench) -> None:
    """bench/extract.py stays runnable: its timing and table code on a few synthetic items."""
    bench = load_bench("extract")
    items = bench._synthetic_r1(n=30)
    assert all(extract(t, o).letter for t, o in items)  # every synthetic completion is readable
    rates = bench.time_methods(items, rounds=1)
    assert set(rates) == {"naive", *MODES} and all(r > 0 for r in rates.values())
    table = bench.to_markdown(
        {
            "synthetic_r1": {
                "n": 30,
                **{f"{m}_per_s": 1 for m in rates},
                "strict_vs_naive": 1.0,
                "lenient_over_strict_time": 1.0,
            }
        }
    )
    assert table.count("\n") == 2 and "synthetic_r1" in table


METALS = {"A": "Iron", "B": "Zinc", "C": "Copper", "D": "Folate"}


@pytest.mark.parametrize(
    "text",
    [
        "<answer>Iron or Zinc</answer>",  # two option texts
        "<answer>Iron, Zinc, Copper, Folate</answer>",  # every option text
        "<answer>B (Zinc) or A</answer>",  # a letter with its text, then another letter
        "<answer>Iron / (B)</answer>",  # a text, then a letter
        "The answer is Copper or Folate.",
        "Answer: B. Zinc, C. Copper",
    ],
)
def test_hedges_written_as_option_texts_are_hedges(text: str) -> None:
    for mode in MODES:
        res = extract(text, METALS, mode)
        assert res.letter is None and res.reason == "hedge", (mode, res)


def test_an_option_text_with_a_word_after_it_is_not_a_hedge() -> None:
    assert extract("<answer>Zinc, because it fits</answer>", METALS).letter == "B"
    assert extract("<answer>B (Zinc), a trace element</answer>", METALS).letter == "B"
    assert extract("<answer>B (Zinc) or rather B</answer>", METALS).letter == "B"


@pytest.mark.parametrize(
    "text",
    ["The answer is not A.", "It isn't (C).", "Anything except D", "The answer is not iron deficiency."],
)
def test_a_negated_statement_is_not_an_answer(text: str) -> None:
    for mode in MODES:
        assert extract(text, OPTS, mode).letter is None, mode
    # the letter after the negation still counts when another one is stated
    assert extract("The answer is not A, it is B.", ABCD, mode="lenient").letter == "B"


def test_strict_reads_an_answer_line_followed_by_an_explanation() -> None:
    text = "Answer: B\nExplanation: Zinc fits the picture.\nIt is the commonest cause."
    res = extract(text, METALS)
    assert (res.letter, res.method) == ("B", "answer_colon")
    assert extract("**Final answer:** (C)\n\n**Rationale:** copper.", METALS).letter == "C"
    # an explanation that states another letter makes it a hedge; a heading alone is not an answer
    assert extract("Answer: B\nExplanation: the answer is A.", METALS).reason == "hedge"
    assert extract("Explanation: B fits.", METALS).letter is None
    assert extract("Answer: B\nExplanation: so the answer is B.", METALS).letter == "B"


def test_an_echoed_option_list_is_not_an_answer() -> None:
    # a base model echoing the question and its options (/work/shared/notes/real-model.md)
    text = (
        "Question: which drug cross-links DNA?\nOptions:\n(A) Benign carrier\n(B) Folate deficiency\n"
        "(C) Iron deficiency\n(D) Parvovirus B19 infection"
    )
    for mode in MODES:
        assert extract(text, OPTS, mode).letter is None, mode
    listed = "Which one?\nA. Benign carrier\nB. Folate deficiency\nC. Iron deficiency"
    assert extract(listed, OPTS, mode="last").letter is None
    assert extract(listed, OPTS, mode="lenient").letter is None
    # a single closing option line stays an answer
    assert extract("Reasoning here.\n(D) Parvovirus B19 infection", OPTS, mode="last").letter == "D"
    assert extract("Reasoning here.\n(D) Parvovirus B19 infection", OPTS, mode="lenient").letter == "D"

"""The result object every extraction mode returns, and the closed vocabularies of its fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# How a letter was found (``Extraction.method``).
METHODS = (
    "answer_tag",  # <answer>B</answer>
    "answer_is",  # "the answer is (B)", "answer would be B"
    "answer_colon",  # "Answer: B", "Final answer: H", "**Answer:** B"
    "boxed",  # \boxed{B}
    "bold",  # a closing line that is only a bold choice: "**B**", "**(B) text**"
    "final_line",  # a closing line that is only a choice: "B", "(B)", "B. text"
    "lone_letter",  # lenient only: a letter standing alone anywhere (HuatuoGPT-o1 rule)
    "option_text",  # the text of exactly one option instead of its letter
)

# Why no letter was returned (``Extraction.reason``).
REASONS = (
    "empty",  # the completion is empty or only whitespace
    "no_answer",  # no answer statement where the mode looks
    "answer_in_think",  # strict only: statements exist, but only inside the thinking
    "unparsed",  # an answer statement whose content is no option ("<answer>unsure</answer>")
    "hedge",  # several different letters ("A or B", "A/B", "A, C", two different <answer> tags)
    "unknown_letter",  # a letter outside the valid options ("<answer>F</answer>" with A-D)
    "unclosed_think",  # <think> opened (or pre-opened by the chat template) and never closed
    "truncated",  # the text ends inside the answer: "<answer>B" with no "</answer>"
)


@dataclass(frozen=True, slots=True)
class Extraction:
    """One extraction result.

    ``letter`` is the chosen option letter or ``None``; ``method`` (one of :data:`METHODS`)
    says how it was found; ``start``/``end`` are the character span of the letter (or option
    text) in the completion text (``-1`` when ``letter`` is ``None``, except for ``hedge`` and
    ``unknown_letter`` where they point at the offending statement); ``reason`` (one of
    :data:`REASONS`) says why ``letter`` is ``None``.
    """

    letter: str | None
    method: str | None = None
    start: int = -1
    end: int = -1
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "letter": self.letter,
            "method": self.method,
            "start": self.start,
            "end": self.end,
            "reason": self.reason,
        }

    @property
    def ok(self) -> bool:
        return self.letter is not None


EMPTY = Extraction(None, reason="empty")
NO_ANSWER = Extraction(None, reason="no_answer")

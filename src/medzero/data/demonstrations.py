"""Worked examples a prompt can show before the question (one-shot prompting).

A base model given R1-Zero's instructions alone rarely writes ``</think>`` then an answer in
tags: it continues the transcript instead (docs/real-model.md). One worked exchange before the
question — an invented question, then an Assistant turn in exactly the asked-for format — makes
the format reachable, so GRPO's groups contain well-formatted completions to reinforce.
``data.prompt.demonstration`` (recipes) and ``--demonstration`` (``medzero eval``) name one.

Every entry here is written for this project: no benchmark or training-set text, so the example
cannot leak an evaluated item into a prompt.
"""

from __future__ import annotations

from dataclasses import dataclass

from medzero.data.schema import MCQ
from medzero.registry import Registry


@dataclass(frozen=True)
class Demonstration:
    """One worked example: a question with its options, the reasoning and the correct letter."""

    question: str
    options: dict[str, str]
    reasoning: str
    answer: str

    def mcq(self) -> MCQ:
        """The example as a question, rendered by the same layout as the real one."""
        return MCQ(
            id="demonstration",
            source="demonstration",
            question=self.question,
            options=dict(self.options),
            answer=self.answer,
        ).validate()

    def reply(self, tagged: bool) -> str:
        """The Assistant's turn: ``<think> reasoning </think> <answer> X </answer>`` when the
        prompt asks for the tags, else the reasoning and ``The answer is (X).``"""
        if tagged:
            return f"<think> {self.reasoning} </think> <answer> {self.answer} </answer>"
        return f"{self.reasoning} The answer is ({self.answer})."


DEMONSTRATIONS: Registry[Demonstration] = Registry("demonstration")
DEMONSTRATIONS.register(
    "anemia",
    Demonstration(
        question="A 25-year-old woman has felt tired for two months. Her blood count shows a low "
        "hemoglobin and small, pale red cells. Which nutrient is she most likely lacking?",
        options={"A": "Vitamin D", "B": "Iodine", "C": "Iron", "D": "Vitamin K"},
        reasoning="Tiredness with low hemoglobin and small, pale red cells is iron deficiency "
        "anemia. Vitamin D, iodine and vitamin K do not make red cells small.",
        answer="C",
    ),
)

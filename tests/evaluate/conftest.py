"""Fixtures for the evaluation tests: a scripted backend and a small question file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medzero.data.schema import MCQ
from medzero.evaluate.backends import Generation


class ScriptedBackend:
    """Answers every question with the letter ``answer_for(question_text)`` in r1zero format.

    ``fail_first``: how many times each prompt containing a key fails before it succeeds.
    ``raise_all``: every call raises (a dead server / unloadable model).
    """

    name = "scripted"
    think_preopened = False

    def __init__(self, answer_for=None, fail_first=None, raise_all=False):
        self.answer_for = answer_for or (lambda text, sample: "A")
        self.fail_first = dict(fail_first or {})
        self.raise_all = raise_all
        self.calls: list[tuple[int, int]] = []  # (prompts, n) per call
        self.closed = False

    def generate(self, prompts, n=1, temperature=0.0, max_new_tokens=16, seed=0, seeds=None):
        if self.raise_all:
            raise RuntimeError("server unreachable")
        self.calls.append((len(prompts), n))
        out = []
        for messages in prompts:
            text = messages[-1]["content"]
            key = next((k for k in self.fail_first if k in text), None)
            if key is not None and self.fail_first[key] > 0:
                self.fail_first[key] -= 1
                out.append([Generation.failed("HTTP 503: busy")] * n)
                continue
            out.append(
                [
                    Generation(
                        f"<think>thinking</think><answer>{self.answer_for(text, j)}</answer>", 50, 9, "stop"
                    )
                    for j in range(n)
                ]
            )
        return out

    def close(self):
        self.closed = True


@pytest.fixture
def scripted():
    return ScriptedBackend


def make_mcqs(n: int, source: str = "mine", **meta) -> list[MCQ]:
    return [
        MCQ(
            f"q{i}",
            source,
            f"Question number {i}?",
            {"A": "alpha", "B": "beta", "C": "gamma"},
            "AB"[i % 2],
            dict(meta),
        )
        for i in range(n)
    ]


@pytest.fixture
def question_file(tmp_path: Path) -> Path:
    """A 10-question file in the medzero JSONL format (gold alternates A, B)."""
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps(q.to_dict()) + "\n" for q in make_mcqs(10)), encoding="utf-8")
    return path

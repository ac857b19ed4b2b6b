"""Find explicit answer statements: ``<answer>`` tags, "answer is", "Answer:" and ``\\boxed{}``.

Statements are located with ``str.find``/``str.rfind`` on fixed needles (C speed, linear) and
confirmed by an anchored, bounded regex at each hit, so scanning a text costs O(len) however
adversarial it is. :func:`backward` yields the statements from the last to the first,
:func:`forward` from the first to the last.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

OPEN_TAG = "<answer>"
CLOSE_TAG = "</answer>"
# What may follow the word "answer" for it to be a statement; group "colon" for "Answer:".
_TAIL = re.compile(
    r"(?:[ \t](?:choice|option|letter))?[ \t]{0,3}(?:\*\*|__|\*)?[ \t]{0,3}"
    r"(?:(?P<colon>:)|(?:is|was|would be|should be|will be|must be|=)(?![a-z]))",
    re.IGNORECASE,
)
_TAIL_SPAN = 40
_NEEDLES = ("nswer", "NSWER", "\\boxed{")


class Statement(NamedTuple):
    method: str  # "answer_tag", "answer_is", "answer_colon" or "boxed"
    start: int  # where the statement begins
    content: int  # where its choice should start
    bound: int  # the choice must lie before this (closing tag or region end)
    closed: bool = True  # False for an <answer> tag without its closing tag


def _at(text: str, p: int, needle: str, lo: int, hi: int) -> Statement | None:
    """The statement whose needle was found at ``p``, or None when it is not one."""
    if needle[0] == "\\":
        return Statement("boxed", p, p + 7, hi)
    a = p - 1
    if a < lo or text[a] not in "aA":
        return None
    before = text[a - 1] if a > lo else ""
    if before == "<":
        if text.startswith(">", p + 5):
            close = text.find(CLOSE_TAG, p + 6, hi)
            if close < 0:
                return Statement("answer_tag", a - 1, p + 6, hi, closed=False)
            return Statement("answer_tag", a - 1, p + 6, close)
        return None
    if before == "/" or before.isalnum():
        return None
    m = _TAIL.match(text, p + 5, min(hi, p + 5 + _TAIL_SPAN))
    if m is None:
        return None
    return Statement("answer_colon" if m.group("colon") else "answer_is", a, m.end(), hi)


def backward(text: str, lo: int = 0, hi: int | None = None) -> Iterator[Statement]:
    """Statements in ``text[lo:hi]`` from the last to the first."""
    hi = len(text) if hi is None else hi
    pos = [text.rfind(n, lo, hi) for n in _NEEDLES]
    while True:
        k = max(range(len(pos)), key=pos.__getitem__)
        p = pos[k]
        if p < 0:
            return
        st = _at(text, p, _NEEDLES[k], lo, hi)
        if st is not None:
            yield st
        pos[k] = text.rfind(_NEEDLES[k], lo, p)


def forward(text: str, lo: int = 0, hi: int | None = None) -> Iterator[Statement]:
    """Statements in ``text[lo:hi]`` from the first to the last."""
    hi = len(text) if hi is None else hi
    big = hi + 1
    pos = [text.find(n, lo, hi) for n in _NEEDLES]
    pos = [p if p >= 0 else big for p in pos]
    while True:
        k = min(range(len(pos)), key=pos.__getitem__)
        p = pos[k]
        if p >= big:
            return
        st = _at(text, p, _NEEDLES[k], lo, hi)
        if st is not None:
            yield st
        q = text.find(_NEEDLES[k], p + 1, hi)
        pos[k] = q if q >= 0 else big

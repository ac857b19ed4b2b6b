"""Find explicit answer statements: ``<answer>`` tags, "answer is", "Answer:", ``\\boxed{}`` and
"the correct option/choice is".

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
# "## Final Answer" / "**Correct answer**" alone on its line (checked only where _TAIL fails).
_HEADING_START = re.compile(r"[#*_ \t]*(?:(?:final|correct|the)[ \t]+){0,2}\Z", re.IGNORECASE)
_HEADING_END = re.compile(r"(?:\*\*|__)?[ \t]*(?:\*\*|__)?[ \t]*\n")
TAG_SPAN = 2000  # an <answer> tag's closing tag is looked for this far (keeps scans linear)
_FIRST_WINDOW = 256
_NEEDLES = ("nswer", "NSWER", "\\boxed{", "ption", "hoice")
# "option"/"choice" make a statement only after a qualifier: "the correct option is B".
_QUALIFIED = re.compile(
    r"(?:correct|best|right|final|appropriate|likely|accurate)[ \t*_]{1,3}\Z", re.IGNORECASE
)
# Fast path: the commonest closing statement, "... the answer is (B)." or "Answer: B" ending
# the text, matched on the last FAST_SPAN characters only. Its result is the same as the
# general scan's (nothing can follow it, so it is the last statement and cannot hedge).
_FAST_TAIL = re.compile(r"(?:nswer|NSWER)( is|:) ?\(?([A-Z])\)?\.?\s{0,4}\Z")
FAST_SPAN = 24


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
    if needle[0] in "ph":  # "option" / "choice"
        if a < lo or text[a] not in ("oO" if needle[0] == "p" else "cC") or text[p + 5 : p + 6].isalnum():
            return None
        if _QUALIFIED.search(text, max(lo, a - 16), a) is None:
            return None
        m = _TAIL.match(text, p + 5, min(hi, p + 5 + _TAIL_SPAN))
        if m is None:
            return None
        return Statement("answer_colon" if m.group("colon") else "answer_is", a, m.end(), hi)
    if a < lo or text[a] not in "aA":
        return None
    before = text[a - 1] if a > lo else ""
    if before == "<":
        if text.startswith(">", p + 5):
            close = text.find(CLOSE_TAG, p + 6, min(hi, p + 6 + TAG_SPAN))
            if close < 0:  # unclosed, or content too long to be one choice
                return Statement("answer_tag", a - 1, p + 6, min(hi, p + 6 + TAG_SPAN), closed=False)
            return Statement("answer_tag", a - 1, p + 6, close)
        return None
    if before == "/" or before.isalnum():
        return None
    m = _TAIL.match(text, p + 5, min(hi, p + 5 + _TAIL_SPAN))
    if m is not None:
        return Statement("answer_colon" if m.group("colon") else "answer_is", a, m.end(), hi)
    # a heading line "## Final Answer" / "**Answer**" with the choice on a following line
    m = _HEADING_END.match(text, p + 5, min(hi, p + 5 + _TAIL_SPAN))
    if m is None or _HEADING_START.match(text, max(lo, text.rfind("\n", lo, a) + 1), a) is None:
        return None
    return Statement("answer_colon", a, m.end(), hi)


def fast_tail(text: str, lo: int) -> tuple[str, str, int] | None:
    """``(letter, method, position)`` when ``text[lo:]`` ends with a plain closing statement."""
    start = max(lo + 1, len(text) - FAST_SPAN)
    p = text.rfind("nswer", start)
    if p < 0:
        p = text.rfind("NSWER", start)
        if p < 0:
            return None
    if text[p - 1] not in "aA" or (p > 1 and text[p - 2].isalpha()):
        return None
    m = _FAST_TAIL.match(text, p)
    if m is None:
        return None
    return m.group(2), ("answer_colon" if m.group(1) == ":" else "answer_is"), m.start(2)


def _hits(text: str, wlo: int, whi: int, hi: int) -> list[tuple[int, int]]:
    """``(position, needle index)`` of every needle starting in ``[wlo, whi)`` (ending by ``hi``)."""
    found = []
    for k, needle in enumerate(_NEEDLES):
        p = text.rfind(needle, wlo, min(hi, whi + len(needle) - 1))
        while p >= 0:
            found.append((p, k))
            p = text.rfind(needle, wlo, p + len(needle) - 1)
    return found


def backward(text: str, lo: int = 0, hi: int | None = None) -> Iterator[Statement]:
    """Statements in ``text[lo:hi]`` from the last to the first.

    Scans windows of doubling size from the end, so a statement near the end costs O(its
    distance from the end) and the whole text O(len)."""
    hi = len(text) if hi is None else hi
    if all(text.find(n, lo, hi) < 0 for n in _NEEDLES):  # C-speed check before the windows
        return
    whi, size = hi, _FIRST_WINDOW
    while whi > lo:
        wlo = max(lo, whi - size)
        for p, k in sorted(_hits(text, wlo, whi, hi), reverse=True):
            st = _at(text, p, _NEEDLES[k], lo, hi)
            if st is not None:
                yield st
        whi, size = wlo, size * 2


def forward(text: str, lo: int = 0, hi: int | None = None) -> Iterator[Statement]:
    """Statements in ``text[lo:hi]`` from the first to the last (windows of doubling size)."""
    hi = len(text) if hi is None else hi
    wlo, size = lo, _FIRST_WINDOW
    while wlo < hi:
        whi = min(hi, wlo + size)
        for p, k in sorted(_hits(text, wlo, whi, hi)):
            st = _at(text, p, _NEEDLES[k], lo, hi)
            if st is not None:
                yield st
        wlo, size = whi, size * 2

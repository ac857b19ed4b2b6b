"""The three extraction modes (strict, last, lenient) and the first commitment in the reasoning."""

from __future__ import annotations

import re

from medzero.extract import statements
from medzero.extract.choice import Choice, in_option_list, parse_choice
from medzero.extract.result import EMPTY, NO_ANSWER, Extraction
from medzero.extract.statements import CLOSE_TAG, OPEN_TAG, TAG_SPAN, fast_tail
from medzero.extract.text import (
    TAIL_LIMIT,
    THINK_CLOSE,
    Options,
    answer_region,
    fold,
    last_line_bounds,
    rstrip_end,
)

_SHORT_LINE = 100  # a closing line this short may take its statement from the line above
_STATEMENT_INDENT = 16  # "The correct answer is": a statement line starts this close to its start
UNCLOSED_THINK = Extraction(None, reason="unclosed_think")
UNPARSED = Extraction(None, reason="unparsed")
# A heading that starts an explanation after a closing answer line: "Answer: B\nExplanation: ...".
# Found with str.find on these needles (C speed) in the last EXPLANATION_SPAN characters, confirmed
# at the start of their line with an anchored pattern. Lower-case needles: "Explanation:" and
# "explanation:" are found, an all-capitals "EXPLANATION:" is not.
_EXPLANATION_NEEDLES = ("xplanation", "ationale", "eason", "ustification")
_EXPLANATION = re.compile(
    r"[ \t>#*_-]{0,6}(?:explanation|rationale|reasoning|reason|justification)[ \t*_]{0,4}:", re.IGNORECASE
)
_HEADING_MARKUP = frozenset(" \t>#*_-")
EXPLANATION_SPAN = 2000  # an explanation after the answer line is at most this long
_EXPLANATION_TRIES = 8  # explanation headings tried before giving up


def explanation_headings(text: str, lo: int) -> list[tuple[int, int]]:
    """``(line start, heading end)`` of each line in ``text[lo:]`` that starts with an
    explanation heading ("Explanation:", "**Rationale:**", "Reason:"), in text order."""
    found = []
    for needle in _EXPLANATION_NEEDLES:
        p = text.find(needle, lo + 1)
        while p >= 0:
            j = p - 1  # the heading's first letter; only markup may stand before it on its line
            while j > lo and text[j - 1] in _HEADING_MARKUP and p - j < 8:
                j -= 1
            if j == lo or text[j - 1] == "\n":
                m = _EXPLANATION.match(text, j, p + 40)
                if m is not None:
                    found.append((j, m.end()))
            p = text.find(needle, p + 1)
    return sorted(found)


_TAG_INNER = 300  # statements inside an <answer> tag are looked for in its first characters only
# Last resort inside an <answer> tag: a final choice token "(B)", "**B**", ": B", "is B".
_TAG_END_CHOICE = re.compile(r"(?:\(|\*\*|: |is )([A-Z])(?:\)|\*\*)?[.\s]{0,3}\Z")


def read_tag(text: str, s: int, e: int, opts: Options) -> Choice:
    """The choice in an ``<answer>`` tag's content ``text[s:e]``: read from its start
    ("B", "(B) text", "Option B", the exact option text); else from a statement inside it
    ("<answer>The answer is B</answer>"); else a final choice token ("I would pick (B)")."""
    ch = parse_choice(text, s, e, opts)
    if ch.reason != "unparsed":
        return ch
    e_inner = min(e, s + _TAG_INNER)
    if text.find(OPEN_TAG, s, e_inner) >= 0:  # a tag inside a tag: no answer
        return ch
    for n, st in enumerate(statements.backward(text, s, e_inner)):
        if n >= 3:  # a choice this deep in a long content is not the tag's answer
            break
        if st.method != "answer_tag":
            inner = parse_choice(text, st.content, e_inner, opts)
            if inner.reason != "unparsed":
                return inner
    m = _TAG_END_CHOICE.search(text, max(s, e - 12), e)
    if m is None:
        return ch
    letter = m.group(1)
    if letter not in opts.letters:
        return Choice(None, "unknown_letter", m.start(1), m.end(1))
    return Choice(letter, None, m.start(1), m.end(1))


def read(text: str, st: statements.Statement, opts: Options, bound: int | None = None) -> Choice:
    """The choice of statement ``st`` (tags read with :func:`read_tag`)."""
    end = st.bound if bound is None else min(bound, st.bound)
    if st.method == "answer_tag":
        return read_tag(text, st.content, end, opts)
    return parse_choice(text, st.content, end, opts)


def from_choice(ch: Choice, method: str) -> Extraction:
    """An :class:`Extraction` for a parsed choice read from a statement of kind ``method``."""
    if ch.letter is not None:
        return Extraction(ch.letter, "option_text" if ch.by_text else method, ch.start, ch.end)
    return Extraction(None, method, ch.start, ch.end, ch.reason)


def tag_hedge(text: str, lo: int, a: int, res: Extraction, opts: Options) -> Extraction:
    """``res`` (read from the ``<answer>`` tag at ``a``), or a hedge when an earlier answer tag in
    ``text[lo:a]`` names a different choice: two different answers are never one answer."""
    if res.letter is None:
        return res
    b = text.find(OPEN_TAG, lo, a)
    while b >= 0:
        c = text.find(CLOSE_TAG, b + 8, min(a, b + 8 + TAG_SPAN))
        other = read_tag(text, b + 8, c if c >= 0 else a, opts)
        if other.letter != res.letter and other.reason != "unparsed":
            return Extraction(None, "answer_tag", b, res.end, "hedge")
        b = text.find(OPEN_TAG, b + 8, a)
    return res


def stacked_hedge(text: str, lo: int, res: Extraction, opts: Options) -> Extraction:
    """``res``, or a hedge when the line above the one holding its letter is a short line that
    is itself an answer statement for a different letter ("The answer is (A).\nThe answer is
    (D).": a list of answers is not one answer)."""
    if res.letter is None:
        return res
    pe = rstrip_end(text, lo, text.rfind("\n", lo, res.start))
    if pe <= lo:
        return res
    ps = max(text.rfind("\n", lo, pe) + 1, lo)
    if pe - ps >= _SHORT_LINE:
        return res
    for st in statements.backward(text, ps, pe):
        if st.start - ps > _STATEMENT_INDENT:
            continue
        other = parse_choice(text, st.content, pe, opts)
        if other.letter is not None and other.letter != res.letter:
            return Extraction(None, st.method, other.start, res.end, "hedge")
    return res


def line_answer(text: str, lo: int, ls: int, e: int, opts: Options) -> Extraction | None:
    """The answer of a statement whose choice lies on the line ``text[ls:e]`` (the statement
    may end the short line above: "Final answer:\n\nB"); ``unparsed`` when statements there
    name no option; None when there is none."""
    wlo = ls
    if e - ls < _SHORT_LINE and ls > lo:
        pe = rstrip_end(text, lo, ls - 1)
        wlo = max(text.rfind("\n", lo, pe) + 1, lo)
    seen = False
    for st in statements.backward(text, wlo, e):
        ch = parse_choice(text, st.content, e, opts)
        if ch.reason == "unparsed" or ch.start < ls:
            seen = True
            continue
        return stacked_hedge(text, lo, from_choice(ch, st.method), opts)
    return UNPARSED if seen else None


def explained_answer(text: str, lo: int, opts: Options) -> Extraction | None:
    """A closing answer line followed only by an explanation ("Answer: B\nExplanation: ..."):
    the answer of the line above the first explanation heading (in the last
    :data:`EXPLANATION_SPAN` characters) that has one, unless a statement inside the explanation
    names a different option (then a hedge). None when there is none."""
    wlo = max(lo, len(text) - EXPLANATION_SPAN)
    for n, (hs, he) in enumerate(explanation_headings(text, wlo)):
        if n >= _EXPLANATION_TRIES:
            return None
        pe = rstrip_end(text, lo, hs)
        if pe <= lo:
            continue
        ps = max(text.rfind("\n", lo, pe) + 1, lo, pe - TAIL_LIMIT)
        res = line_answer(text, lo, ps, pe, opts)
        if res is None or res.letter is None:
            continue
        for st in statements.forward(text, he):
            other = read(text, st, opts)
            if (other.letter is not None and other.letter != res.letter) or other.reason == "hedge":
                return Extraction(None, st.method, res.start, other.end, "hedge")
        return res
    return None


def strict(text: str, opts: Options, think_preopened: bool = False) -> Extraction:
    """Only an explicit final answer after the thinking: the last ``<answer>...</answer>``, else
    an "Answer: X" / "The answer is X" / ``\\boxed{X}`` statement whose choice is on the last
    non-blank line (the statement itself may end the line above: "Final answer:\\n\\nB"), or on the
    line just before an explanation heading ("Answer: B\\nExplanation: ...")."""
    if not text or text.isspace():
        return EMPTY
    if "<" in text:
        think_lo, lo, unclosed = answer_region(text, think_preopened)
        if unclosed:
            return UNCLOSED_THINK
        a = text.rfind(OPEN_TAG, lo)
        if a >= 0:
            close = text.find(CLOSE_TAG, a + 8)
            if close < 0:
                return Extraction(None, "answer_tag", a, len(text), "truncated")
            if close == a + 9 and text[a + 8] in opts.letters and text.find(OPEN_TAG, lo, a) < 0:
                return Extraction(text[a + 8], "answer_tag", a + 8, a + 9)  # fast path: <answer>B</answer>
            res = from_choice(read_tag(text, a + 8, close, opts), "answer_tag")
            return tag_hedge(text, lo, a, res, opts)
    elif think_preopened:
        return UNCLOSED_THINK
    else:
        think_lo = lo = 0
    fast = fast_tail(text, lo)
    if fast is not None and fast[0] in opts.letters:
        res = Extraction(fast[0], fast[1], fast[2], fast[2] + 1)
        return res if text.find("\n", lo, fast[2]) < 0 else stacked_hedge(text, lo, res, opts)
    ls, e = last_line_bounds(text, lo)
    res = line_answer(text, lo, ls, e, opts) if ls < e else None
    if res is not None and res.letter is not None:
        return res
    explained = explained_answer(text, lo, opts)
    if explained is not None:
        return explained
    if res is not None:
        return res
    if lo > 0 and next(statements.backward(text, think_lo, lo - len(THINK_CLOSE)), None) is not None:
        return Extraction(None, reason="answer_in_think")
    return NO_ANSWER


def closing_tag(text: str, lo: int, hedge_lo: int, opts: Options) -> Extraction | None:
    """Fast path for texts that end with ``</answer>``: the tag is then the last statement
    (unless its content holds another statement word; None sends the caller to the full scan)."""
    e = rstrip_end(text, lo, len(text))
    close = e - len(CLOSE_TAG)
    if close < lo or not text.startswith(CLOSE_TAG, close):
        return None
    a = text.rfind(OPEN_TAG, max(lo, close - TAG_SPAN), close)
    if a < 0:
        return None
    content = text[a + len(OPEN_TAG) : close]
    if "nswer" in content or "NSWER" in content or "\\boxed{" in content or "<" in content:
        return None
    res = from_choice(read_tag(text, a + len(OPEN_TAG), close, opts), "answer_tag")
    return None if res.reason == "unparsed" else tag_hedge(text, hedge_lo, a, res, opts)


def last(text: str, opts: Options, think_preopened: bool = False) -> Extraction:
    """The last explicit answer statement anywhere (thinking included); failing that, a closing
    line that is only a choice ("B", "**(B)**", "B. <that option's text>")."""
    if not text or text.isspace():
        return EMPTY
    fast = fast_tail(text, 0)
    if fast is not None and fast[0] in opts.letters:
        return Extraction(fast[0], fast[1], fast[2], fast[2] + 1)
    seen: Extraction | None = None
    lo = answer_region(text, think_preopened)[1] if "<" in text else 0
    tag = closing_tag(text, 0, lo, opts) if lo else None
    if tag is not None:
        return tag
    for st in statements.backward(text):
        ch = read(text, st, opts)
        if ch.reason == "unparsed":
            seen = seen or Extraction(None, st.method, st.start, st.start, "unparsed")
            continue
        res = from_choice(ch, st.method)
        return tag_hedge(text, lo, st.start, res, opts) if st.method == "answer_tag" else res
    res = final_line(text, opts)
    return res if res is not None else (seen or NO_ANSWER)


def final_line(text: str, opts: Options, lo: int = 0) -> Extraction | None:
    """A last non-blank line that is nothing but a choice (markup allowed), or None."""
    ls, e = last_line_bounds(text, lo)
    for _ in range(2):  # skip "</answer>" or "</think>" lines at the end
        if not text.startswith("</", ls) or ls <= lo:
            break
        ls, e = last_line_bounds(text, lo, ls - 1)
    if ls >= e:
        return None
    ch = parse_choice(text, ls, e, opts)
    if ch.reason is not None or ch.letter is None or ch.start - ls > 12 or in_option_list(text, ch.start):
        return None
    rest = text[ch.end : e].strip(" \t*_`.):]")
    if rest and not ch.by_text:
        texts = opts.texts or {}
        want = fold(str(texts.get(ch.letter) or ""))
        if not want or not fold(rest).startswith(want):
            return None
    elif rest:
        return None
    method = "option_text" if ch.by_text else ("bold" if text.startswith(("**", "__"), ls) else "final_line")
    return Extraction(ch.letter, method, ch.start, ch.end)


def first_commitment(text: str, opts: Options, think_preopened: bool = False) -> Extraction:
    """The earliest answer statement that names one valid letter inside the reasoning (the
    thinking when there is one, else the whole text) — for answer-flip analysis."""
    if not text or text.isspace():
        return EMPTY
    think_lo, lo, unclosed = answer_region(text, think_preopened)
    hi = len(text) if unclosed or lo == 0 else lo - len(THINK_CLOSE)
    for st in statements.forward(text, think_lo, hi):
        ch = read(text, st, opts, hi)
        if ch.letter is not None:
            return from_choice(ch, st.method)
    return NO_ANSWER

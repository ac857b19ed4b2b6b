"""Read one choice at a position: a letter token (with markup), a hedge, or an option's text.

Every pattern here is applied with ``match`` at a known position on a bounded window, so the
cost per call is O(window), independent of the completion's length.

The lone-letter trap: "A" is an article and "I" a pronoun. An upper-case A or I followed by a
space and a lower-case word is read as a letter only when that word is a connector ("because",
"since", "is", ...) or the start of that option's text; a lower-case letter is read only when
nothing word-like follows it (``<answer> b. </answer>``, "answer is b.").
"""

from __future__ import annotations

import re
from typing import NamedTuple

from medzero.extract.text import Options, fold

WINDOW = 200  # characters after a statement in which its choice must appear
_TEXT_SPAN = 300  # option texts are compared on at most this many characters

# Markup and filler words allowed between a statement and its choice ("**Answer:** Option (B)").
_PREFIX = re.compile(
    r"(?:[\s*_`#:=$\"'\[{>~-]|\\(?:boxed|text|textbf|mathbf|mathrm)\s?\{|\\[(\[]"
    r"|(?:(?:most\s)?likely|probably|clearly|definitely|therefore|thus|indeed|then|option|choice|letter)\b)*",
    re.IGNORECASE,
)
# After a first letter: a separator and a second letter means the answer hedges ("A or B", "A/B", "A, C").
_HEDGE = re.compile(
    r"[)\].*_`]{0,4}[ \t]{0,3}(?:/|,|&|\||\+|\bor\b|\band\b|\bvs\b\.?)[ \t]{0,3}(?:\*\*)?[(\[]?"
    r"(?:option |choice )?([A-Z])(?![A-Za-z0-9])",
    re.IGNORECASE,
)
# A separator that lists several choices: "Iron or Zinc", "Iron, Zinc", "B (Zinc) / A".
_SEP = re.compile(
    r"[)\].*_`]{0,4}[ \t]{0,3}(?:/|,|&|\||\+|\bor\b|\band\b|\bvs\b\.?)[ \t]{0,3}(?:\*\*)?[(\[]?",
    re.IGNORECASE,
)
# After a letter: that option's text as a label ("B (Zinc)", "B. Zinc", "B: Zinc"), skipped
# before looking for a hedge.
_LABEL_GAP = re.compile(r"[).:\]]?[ \t]{0,3}\(?")
# A cheap pre-check: no separator character or word in the window, no hedge to look for.
_SEP_HINT = re.compile(r"[/,&|+]| or | and | vs", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z']{1,20}")
# Words after an upper-case A/I that still make it a letter ("A because ...", "I is correct").
CONNECTORS = frozenset(
    {"because", "since", "as", "is", "was", "which", "that", "and", "or", "with", "for", "given"}
    | {"due", "this", "here", "so", "seems", "appears", "fits", "matches", "best", "correct"}
)
_LOWER_OK_AFTER = frozenset(").]:*},;!?\n<")


class Choice(NamedTuple):
    letter: str | None
    reason: str | None  # None, "hedge", "unknown_letter" or "unparsed"
    start: int
    end: int
    by_text: bool = False  # True when the option's text (not its letter) identified it


UNPARSED = Choice(None, "unparsed", -1, -1)

# A line that starts with an option label: "(C) text", "C. text", "C) text", "**C:** text".
_LABEL_LINE = re.compile(r"[ \t>*_-]{0,6}[(\[]?([A-Z])[)\].:](?:\*\*)?[ \t]")
_LIST_SPAN = 400  # a neighbouring line is looked for this far
# Words that negate the choice right after them: "The answer is not A", "isn't (B)", "except C".
_NEGATION = re.compile(
    r"(?:\bnot|n't|\bnever|\bnor|\bexcept|\bexcluding)[ \t]{1,3}[(\[*]{0,3}\Z", re.IGNORECASE
)


def _label_at(text: str, ls: int, le: int) -> str | None:
    m = _LABEL_LINE.match(text, ls, le)
    return m.group(1) if m is not None else None


def in_option_list(text: str, p: int) -> bool:
    """True when position ``p`` lies on an option line ("(D) Cross-linking of DNA") next to
    another option line with a different letter: an echoed option list, not an answer."""
    ls = text.rfind("\n", max(0, p - _LIST_SPAN), p) + 1
    if ls == 0 and p > _LIST_SPAN:
        return False
    le = text.find("\n", p, p + _LIST_SPAN)
    le = len(text) if le < 0 else le
    own = _label_at(text, ls, le)
    if own is None:
        return False
    # the previous and the next non-blank lines (bounded loops: the cost stays O(_LIST_SPAN))
    pe, floor = ls, max(0, ls - _LIST_SPAN)
    while pe > floor and text[pe - 1].isspace():
        pe -= 1
    if pe > 0:
        ps = text.rfind("\n", max(0, pe - _LIST_SPAN), pe) + 1
        other = _label_at(text, ps, pe)
        if other is not None and other != own:
            return True
    ns = le
    while ns < len(text) and ns < le + _LIST_SPAN and text[ns].isspace():
        ns += 1
    ne = text.find("\n", ns, ns + _LIST_SPAN)
    other = _label_at(text, ns, len(text) if ne < 0 else ne)
    return other is not None and other != own


def negated(text: str, p: int) -> bool:
    """True when the choice at ``p`` follows a negation ("not A", "isn't (B)", "except C")."""
    return _NEGATION.search(text, max(0, p - 16), p) is not None


def _is_word_after(text: str, k: int, end: int, letter: str, opts: Options) -> bool:
    """True when the upper-case A/I at ``k - 1`` is followed by an ordinary word (article/pronoun)."""
    if k >= end or text[k] != " ":
        return False
    m = _WORD.match(text, k + 1, end)
    if m is None:
        return False
    word = m.group(0)
    if not word[0].islower() or word.lower() in CONNECTORS or word == "'":
        return False
    return _text_at(text, k + 1, end, opts, only=letter) is None


def parse_choice(text: str, i: int, end: int, opts: Options) -> Choice:
    """Read the choice that starts at ``text[i]`` (markup and filler words skipped), at most
    :data:`WINDOW` characters before ``end``."""
    end = min(end, i + WINDOW)
    c0 = text[i : i + 1]
    if c0 == "(" or ("A" <= c0 <= "Z" and not text[i + 1 : i + 2].isalnum()):
        j = i  # already at "(B" or "B": no markup to skip (the common case, no regex)
    else:
        j = _PREFIX.match(text, i, end).end()
    if j < end and text[j] == "(":
        j += 1
    if j >= end:
        return UNPARSED
    c = text[j]
    k = j + 1
    nxt = text[k] if k < end else ""
    if not ("A" <= c <= "Z" or "a" <= c <= "z") or nxt.isalnum() or nxt == "_":
        return _text_choice(text, j, end, opts)
    if c.islower():
        if nxt and nxt not in _LOWER_OK_AFTER:
            if not nxt.isspace():
                return UNPARSED
            rest = text[k:end].lstrip(" \t")
            if rest and rest[0] not in "<(\n-–—":
                return _text_choice(text, j, end, opts)
    elif c in "AI" and _is_word_after(text, k, end, c, opts):
        return _text_choice(text, j, end, opts)
    letter = c.upper()
    h = _HEDGE.match(text, k, end)
    if h is not None:
        other = h.group(1)
        if (
            other.upper() != letter
            and not (other.islower() and c.isupper())  # "B, a deficiency": an article
            and not (other in "AI" and _is_word_after(text, h.end(1), end, other, opts))
        ):
            return Choice(None, "hedge", j, h.end())
    if opts.texts and _SEP_HINT.search(text, k, end):  # "B (Zinc) or A": after the letter's text
        g = _LABEL_GAP.match(text, k, end).end()
        label = _text_at(text, g, end, opts) if g < end else None
        if label is not None:
            e = label.end + (text[label.end : label.end + 1] == ")")
            hedge = _hedge_after(text, e, end, letter, opts)
            if hedge is not None:
                return Choice(None, "hedge", j, hedge)
    if letter not in opts.letters:
        return Choice(None, "unknown_letter", j, k)
    return Choice(letter, None, j, k)


def _text_choice(text: str, j: int, end: int, opts: Options) -> Choice:
    hit = _text_at(text, j, end, opts)
    if hit is None:
        return UNPARSED
    hedge = _hedge_after(text, hit.end, end, hit.letter, opts)
    return hit if hedge is None else Choice(None, "hedge", j, hedge)


def _hedge_after(text: str, k: int, end: int, letter: str | None, opts: Options) -> int | None:
    """The end of a second, different choice listed right after position ``k`` ("... or Zinc",
    "..., B", "... / (C) Folate"), or None: an answer naming two options is a hedge, whether it
    names them by letter or by text."""
    m = _SEP.match(text, k, end)
    if m is None or m.end() >= end:
        return None
    g = m.end()
    other = _text_at(text, g, end, opts)
    if other is not None:
        return other.end if other.letter != letter else None
    h = _HEDGE.match(text, k, end)
    if h is None:
        return None
    o = h.group(1)
    if o.upper() == letter or o.islower() or (o in "AI" and _is_word_after(text, h.end(1), end, o, opts)):
        return None
    return h.end()


def _text_at(text: str, j: int, end: int, opts: Options, only: str | None = None) -> Choice | None:
    """The option whose (lower-cased, whitespace-collapsed) text starts at ``text[j]``; longest wins."""
    pairs = opts.lowered()
    if not pairs:
        return None
    longest = min(len(pairs[0][1]), _TEXT_SPAN)
    raw = text[j : min(len(text), j + longest + 40)]
    span = fold(raw)
    for letter, t in pairs:
        if only is not None and letter != only:
            continue
        if span.startswith(t) and (len(span) == len(t) or not span[len(t)].isalnum()):
            return Choice(letter, None, j, min(end, j + len(t)), True)
    return None

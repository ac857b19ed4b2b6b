"""Lenient mode: the rules of the HuatuoGPT-o1 scorer (used for the seed's Table 1), made safe.

HuatuoGPT-o1's ``match_choice`` reads, in order: the text after the last "## Final Response" /
"## Final Answer" header or "</think>"; every "answer is X" (first and last); every lone option
letter (first and last); every option text (first and last mention); and finally guesses the
most similar option. Its reported accuracy is max(accuracy of first, accuracy of last) over a
whole benchmark. See docs/extraction.md for exactly what we keep and what we drop (the guess).
"""

from __future__ import annotations

import re
from functools import lru_cache

from medzero.extract import statements
from medzero.extract.choice import in_option_list, negated
from medzero.extract.modes import closing_tag, from_choice, read, tag_hedge
from medzero.extract.result import EMPTY, NO_ANSWER, Extraction
from medzero.extract.text import THINK_CLOSE, Options

FINAL_HEADERS = ("## Final Response\n\n", "## Final Answer\n\n")


def region_start(text: str) -> int:
    """Where HuatuoGPT-o1's scorer starts reading: after its final-response header, else after
    the last ``</think>``, else 0."""
    if "#" in text:
        for header in FINAL_HEADERS:
            p = text.rfind(header)
            if p >= 0:
                return p + len(header)
    p = text.rfind(THINK_CLOSE) if "<" in text else -1
    return p + len(THINK_CLOSE) if p >= 0 else 0


@lru_cache(maxsize=256)
def _lone_letter_re(letters: str) -> re.Pattern[str]:
    # The class comes first so that the regex engine can skip quickly to candidate letters;
    # the look-behind then checks the character before it (20x faster than leading with it).
    return re.compile(rf"[{letters}](?<![A-Za-z0-9_][{letters}])(?![A-Za-z0-9_])")


def _is_word(text: str, p: int) -> bool:
    """The article "A " and the pronoun "I" ("I think", "I'm") are words, not options; a
    negated letter ("not A") and a label in an echoed option list ("(D) text") are no answer."""
    c, nxt = text[p], text[p + 1 : p + 2]
    if c == "A" and nxt == " ":
        return True
    if c == "I" and (nxt == "'" or (nxt == " " and text[p + 2 : p + 3].islower())):
        return True
    return negated(text, p) or in_option_list(text, p)


def _lone_letter(text: str, lo: int, opts: Options, from_end: bool) -> Extraction | None:
    letters = opts.letter_class()
    if not letters:
        return None
    pattern = _lone_letter_re(letters)  # a lone letter reversed is a lone letter
    if from_end:  # the first hit in the reversed text is the last one: no full scan needed
        last = len(text) - 1
        for m in pattern.finditer(text[: lo - 1 if lo else None : -1]):
            p = last - m.start()
            if not _is_word(text, p):
                return Extraction(text[p], "lone_letter", p, p + 1)
        return None
    for m in pattern.finditer(text, lo):
        if not _is_word(text, m.start()):
            return Extraction(m.group(0), "lone_letter", m.start(), m.end())
    return None


def _bounded(low: str, p: int, n: int) -> bool:
    return (p == 0 or not low[p - 1].isalnum()) and (p + n >= len(low) or not low[p + n].isalnum())


def _mention(text: str, lo: int, low: str, p: int, n: int) -> bool:
    """An option text at ``low[p:p+n]`` that names an answer: whole words, not negated ("not
    iron deficiency"), not a line of an echoed option list."""
    return _bounded(low, p, n) and not negated(text, lo + p) and not in_option_list(text, lo + p)


def _option_text(text: str, lo: int, opts: Options, from_end: bool) -> Extraction | None:
    pairs = opts.lowered()
    if not pairs:
        return None
    low = text[lo:].lower()
    best: tuple[int, str, int] | None = None
    for letter, t in pairs:  # longest first, so on a tie the longer text wins
        n = len(t)
        if from_end:
            p = low.rfind(t)
            while p >= 0 and not _mention(text, lo, low, p, n):
                p = low.rfind(t, 0, p + n - 1)
            if p >= 0 and (best is None or p > best[0]):
                best = (p, letter, n)
        else:
            p = low.find(t)
            while p >= 0 and not _mention(text, lo, low, p, n):
                p = low.find(t, p + 1)
            if p >= 0 and (best is None or p < best[0]):
                best = (p, letter, n)
    if best is None:
        return None
    return Extraction(best[1], "option_text", lo + best[0], lo + best[0] + best[2])


def lenient(text: str, opts: Options, think_preopened: bool = False, from_end: bool = True) -> Extraction:
    """HuatuoGPT-o1-compatible reading; ``from_end=False`` gives its "first" candidate."""
    del think_preopened  # the HuatuoGPT-o1 scorer reads the same text either way
    if not text or text.isspace():
        return EMPTY
    lo = region_start(text)
    if from_end:
        fast = statements.fast_tail(text, lo)
        if fast is not None and fast[0] in opts.letters:
            return Extraction(fast[0], fast[1], fast[2], fast[2] + 1)
        tag = closing_tag(text, lo, lo, opts) if "<" in text else None
        if tag is not None:
            return tag
    found = statements.backward(text, lo) if from_end else statements.forward(text, lo)
    for st in found:
        ch = read(text, st, opts)
        if ch.reason != "unparsed":
            res = from_choice(ch, st.method)
            return tag_hedge(text, lo, st.start, res, opts) if st.method == "answer_tag" else res
    res = _lone_letter(text, lo, opts, from_end) or _option_text(text, lo, opts, from_end)
    return res if res is not None else NO_ANSWER

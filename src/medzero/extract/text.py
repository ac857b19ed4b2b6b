"""Input normalisation: completion -> text, options -> valid letters (+ texts), thinking regions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
_UPPER = frozenset(ALPHABET)
TAIL_LIMIT = 600  # strict looks for a closing statement in at most this many trailing characters


def fold(text: str) -> str:
    """The one text normaliser (option texts, answers, de-duplication keys): lower case, ``*``
    markup dropped, whitespace collapsed, punctuation stripped at the ends.

    >>> fold("  **Iron**  deficiency. ")
    'iron deficiency'
    """
    return " ".join(text.lower().replace("*", " ").split()).strip(" .?!:;,")


def completion_text(completion: Any) -> str:
    """The text to read: a string as is; for chat messages, the content of the last assistant
    message (TRL's conversational completions are ``[{"role": "assistant", "content": ...}]``).

    Content given as a list of parts (``[{"type": "text", "text": ...}]``) is joined.
    Anything else gives ``""``.
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        completion = [completion]
    if isinstance(completion, Sequence):
        for msg in reversed(completion):
            if isinstance(msg, Mapping) and msg.get("role", "assistant") == "assistant":
                return _content_text(msg.get("content"))
    return ""


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        parts = []
        for p in content:
            if isinstance(p, str):
                parts.append(p)
            elif isinstance(p, Mapping) and isinstance(p.get("text"), str):
                parts.append(p["text"])
        return "".join(parts)
    return ""


class Options:
    """Valid letters (upper case) and, when known, their texts.

    Accepts a dict ``letter -> text``, a sequence of letters (``["A", "B"]`` or ``"ABCD"``), or a
    sequence of option texts in letter order (any item that is not a single letter makes the
    whole sequence texts).
    """

    __slots__ = ("_class", "_lowered", "letters", "texts")

    def __init__(self, options: Any):
        self._lowered: list[tuple[str, str]] | None = None
        self._class: str | None = None
        if type(options) is dict:  # the common case, checked first (ABC isinstance is slow)
            self.letters = frozenset(options)
            self.texts = options
            if not self.letters <= _UPPER:
                self.texts = {str(k).strip().upper(): v for k, v in options.items()}
                self.letters = frozenset(self.texts)
        elif isinstance(options, Options):
            self.letters, self.texts = options.letters, options.texts
        elif isinstance(options, Mapping):
            self.letters = frozenset(options)
            self.texts = options
            if not self.letters <= _UPPER:  # keys like " b" or "b": normalise (rare, slower)
                self.texts = {str(k).strip().upper(): v for k, v in options.items()}
                self.letters = frozenset(self.texts)
        elif isinstance(options, str):
            self.letters, self.texts = frozenset(options.upper()), None
        else:
            seq = list(options)
            letters = frozenset(x for x in seq if isinstance(x, str))
            if len(letters) == len(seq) and letters <= _UPPER:
                self.letters, self.texts = letters, None
            elif all(isinstance(x, str) and len(x.strip()) == 1 and x.strip().isalpha() for x in seq):
                self.letters, self.texts = frozenset(x.strip().upper() for x in seq), None
            else:
                self.texts = {ALPHABET[i]: str(t) for i, t in enumerate(seq[:26])}
                self.letters = frozenset(self.texts)

    def letter_class(self) -> str:
        """The valid letters, sorted, as one string ("ABCD")."""
        if self._class is None:
            self._class = "".join(sorted(x for x in self.letters if len(x) == 1 and "A" <= x <= "Z"))
        return self._class

    def lowered(self) -> list[tuple[str, str]]:
        """``(letter, lower-cased stripped text)`` for options with a usable text, longest first."""
        if self._lowered is None:
            pairs = []
            for k, v in (self.texts or {}).items():
                if v is None:
                    continue
                t = fold(str(v))
                if t:
                    pairs.append((k, t))
            pairs.sort(key=lambda kv: -len(kv[1]))
            self._lowered = pairs
        return self._lowered


def answer_region(text: str, think_preopened: bool) -> tuple[int, int, bool]:
    """``(think_start, region_start, unclosed)`` for ``text``.

    The answer region runs from ``region_start`` to the end of the text; the thinking runs
    from ``think_start`` to the ``</think>`` before ``region_start``. With an unclosed ``<think>``
    (or ``think_preopened`` and no ``</think>``) the whole rest is thinking and ``unclosed`` is True.
    Without any think tag the whole text is the answer region.
    """
    close = text.rfind(THINK_CLOSE)
    if close >= 0:
        opened = text.find(THINK_OPEN, 0, close)
        return (opened + len(THINK_OPEN) if opened >= 0 else 0), close + len(THINK_CLOSE), False
    opened = text.find(THINK_OPEN)
    if opened >= 0:
        return opened + len(THINK_OPEN), len(text), True
    if think_preopened:
        return 0, len(text), True
    return 0, 0, False


def rstrip_end(text: str, lo: int, e: int) -> int:
    """The end of ``text[lo:e]`` without its trailing whitespace (C-speed on long runs)."""
    if e <= lo or not text[e - 1].isspace():
        return e
    return lo + len(text[lo:e].rstrip())


def last_line_bounds(text: str, lo: int, hi: int | None = None) -> tuple[int, int]:
    """``(start, end)`` of the last non-blank line of ``text[lo:hi]`` (end excludes trailing
    whitespace); ``(end, end)`` when the region is blank. At most :data:`TAIL_LIMIT` chars."""
    e = rstrip_end(text, lo, len(text) if hi is None else hi)
    s = text.rfind("\n", lo, e) + 1
    return max(s, lo, e - TAIL_LIMIT), e

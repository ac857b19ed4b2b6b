"""The one answer extractor: completion text -> option letter, and how it was found.

>>> extract("<think>B fits</think><answer>(C) Iron</answer>", ["A", "B", "C", "D"])
Extraction(letter='C', method='answer_tag', start=30, end=31, reason=None)
>>> extract("The answer is A or B.", "ABCD").reason
'hedge'
>>> extract("I think so. The answer is (I).", "ABCDEFGHIJ", mode="last").letter
'I'

Modes (see docs/extraction.md): ``strict`` (explicit final answer only; the accuracy reward),
``last`` (last explicit answer statement anywhere), ``lenient`` (HuatuoGPT-o1 scorer rules,
without its random-looking similarity guess). Depends on the standard library only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from medzero.extract import lenient as _lenient
from medzero.extract import modes as _modes
from medzero.extract.result import METHODS, REASONS, Extraction
from medzero.extract.text import Options, completion_text

MODES = ("strict", "last", "lenient")

_FUNCS: dict[str, Callable[[str, Options, bool], Extraction]] = {
    "strict": _modes.strict,
    "last": _modes.last,
    "lenient": _lenient.lenient,
}

OptionsLike = dict[str, str] | Sequence[str] | Options


def extract(
    completion: str | list[dict[str, Any]],
    options: OptionsLike,
    mode: str = "strict",
    think_preopened: bool = False,
) -> Extraction:
    """Read the chosen option from ``completion``.

    Args:
        completion: the generated text, or chat messages (the last assistant message is read).
        options: ``letter -> text``, a sequence of valid letters, or option texts in letter order.
        mode: one of :data:`MODES`.
        think_preopened: the chat template already opened ``<think>``, so the completion starts
            inside the thinking (everything before ``</think>`` is thinking).
    """
    fn = _FUNCS.get(mode)
    if fn is None:
        raise ValueError(f"unknown extraction mode {mode!r}; expected one of {', '.join(MODES)}")
    text = completion if type(completion) is str else completion_text(completion)
    return fn(text, options if type(options) is Options else Options(options), think_preopened)


def extract_all(
    completion: str | list[dict[str, Any]], options: OptionsLike, think_preopened: bool = False
) -> dict[str, Extraction]:
    """``{mode: Extraction}`` for every mode in :data:`MODES`."""
    text, opts = completion_text(completion), Options(options)
    return {m: _FUNCS[m](text, opts, think_preopened) for m in MODES}


def first_commitment(
    completion: str | list[dict[str, Any]], options: OptionsLike, think_preopened: bool = False
) -> Extraction:
    """The earliest answer statement naming one valid letter inside the reasoning."""
    return _modes.first_commitment(completion_text(completion), Options(options), think_preopened)


def lenient_candidates(
    completion: str | list[dict[str, Any]], options: OptionsLike
) -> tuple[Extraction, Extraction]:
    """HuatuoGPT-o1's two candidates ``(first, last)``; its published accuracy is the larger of
    the accuracies of the firsts and of the lasts over a benchmark. ``extract(mode="lenient")``
    is the last one."""
    text, opts = completion_text(completion), Options(options)
    return _lenient.lenient(text, opts, from_end=False), _lenient.lenient(text, opts, from_end=True)


__all__ = [
    "METHODS",
    "MODES",
    "REASONS",
    "Extraction",
    "Options",
    "completion_text",
    "extract",
    "extract_all",
    "first_commitment",
    "lenient_candidates",
]

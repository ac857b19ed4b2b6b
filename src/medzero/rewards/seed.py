"""The seed study's three rewards, reproduced exactly (``rewards: seed``).

The seed (public ``Qsingle/open-medical-r1``, ``src/open_r1/rewards.py``) trained with
``accuracy`` + ``format`` + ``xmlcount_reward_func``, each with weight 1, maximum total 5:

* :class:`SeedAccuracy` (0/1/2) reads the answer with its own greedy regex, not with
  :mod:`medzero.extract`. This is deliberate and is not a second extractor: it exists only to
  give, for every completion, the number the seed's reward gave (quirks included), so a
  ``seed-exact`` run optimises the same objective. Evaluation, analysis and medzero's own
  ``accuracy`` reward still read answers through :mod:`medzero.extract`.
* :class:`SeedFormat` (0-2): a soft and a strict regular expression, one point each.
* :class:`SeedXmlCount` (0-1): 0.25 per tag that occurs exactly once.

Each quirk is kept on purpose (docs/reproduce.md lists them and their effect):

* the answer runs from the *first* ``<answer>`` to the *last* ``</answer>`` (greedy ``.*``);
* after the letter check, 1.0 when the answer *starts with* the gold option text
  (case-insensitive, Python ``re`` case folding), so "Iron deficiency anemia" earns the
  credit for gold "Iron deficiency", but "B. Iron deficiency" earns nothing;
* MedXpertQA rows carried the whole options dict as the gold "option": escaping a dict raises,
  the seed caught every exception and gave 0, so MedXpertQA never got the text credit;
* the format regexes accept text after ``</answer>`` (soft) and, through ``$``, one final newline
  (strict); a ``.*?`` may run across extra tags, so repeated tags can still match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from medzero.extract import Options
from medzero.rewards.base import PRESETS, RewardFn, RewardPreset, register

# The seed's patterns (its rewards.py), as facts of the reward being reproduced.
_SEED_ANSWER = re.compile(r"<answer>(.*)</answer>", re.DOTALL)  # greedy: first <answer> .. last </answer>
_SEED_SOFT = re.compile(r"<think>.*?</think>[\s\n]{0,1}<answer>.*?</answer>", re.DOTALL)  # re.match
_SEED_STRICT = re.compile(r"^<think>.*?</think>[\s\n]?<answer>.*?</answer>$", re.DOTALL)  # re.match
SEED_TAGS = ("<think>", "</think>", "<answer>", "</answer>")


def seed_accuracy_value(text: str, reference: str, option: Any) -> float:
    """The seed's ``verify``: 2.0 for the letter (``"B"`` or ``"(B)"``), 1.0 when the answer
    starts with ``option`` (the gold text), 0.0 otherwise or when anything goes wrong.

    ``option`` is what the seed's row carried: the gold text (MedQA), the options dict
    (MedXpertQA: never credited) or ``None`` (no credit).

    >>> seed_accuracy_value("<think>x</think><answer> (B) </answer>", "B", "Iron")
    2.0
    >>> seed_accuracy_value("<answer>iron deficiency, clearly</answer>", "B", "Iron deficiency")
    1.0
    >>> seed_accuracy_value("<answer>Iron deficiency</answer>", "B", {"B": "Iron deficiency"})
    0.0
    """
    found = _SEED_ANSWER.search(text)
    if found is None:
        return 0.0
    answer = found.group(1).strip()
    gold = reference.strip()
    if answer in (gold, f"({gold})"):
        return 2.0
    if option is None:
        return 0.0
    try:  # a dict (MedXpertQA) makes re.escape raise: the seed's bare except gave 0
        return 1.0 if re.compile(re.escape(option), re.IGNORECASE).match(answer) else 0.0
    except Exception:
        return 0.0


def seed_format_value(text: str) -> float:
    """The seed's ``format``: soft regex match (1.0) + strict regex match (1.0).

    >>> seed_format_value("<think>x</think>\\n<answer>A</answer>")
    2.0
    >>> seed_format_value("<think>x</think>\\n<answer>A</answer> because")
    1.0
    """
    return float(bool(_SEED_SOFT.match(text))) + float(bool(_SEED_STRICT.match(text)))


def seed_xmlcount_value(text: str) -> float:
    """The seed's ``xmlcount_reward_func``: 0.25 for each tag that occurs exactly once.

    >>> seed_xmlcount_value("<think>x</think><answer>A</answer><answer>")
    0.75
    """
    return sum(0.25 for tag in SEED_TAGS if text.count(tag) == 1)


@register
@dataclass
class SeedAccuracy(RewardFn):
    """The seed's accuracy reward (2 letter / 1 gold-text prefix / 0), see :func:`seed_accuracy_value`.

    The gold text comes from the ``answer_text`` column (else the gold option); rows whose
    ``source`` is in ``dict_option_sources`` get the seed's dict behaviour (no text credit).

    >>> SeedAccuracy()(["<answer>B</answer>", "<answer>Iron, low ferritin</answer>"],
    ...                answer=["B", "B"], options=[["Zinc", "Iron"]] * 2)
    [2.0, 1.0]
    """

    name = "seed_accuracy"
    uses_answer = True
    dict_option_sources: list[str] = field(
        default_factory=lambda: ["medxpertqa"],
        metadata={
            "help": "sources whose seed rows carried the options dict as 'option' (MedXpertQA): "
            "re.escape raised there, so the seed never gave them the 1.0 text credit"
        },
    )

    def score(self, text: str, gold: str | None, opts: Options, row: dict[str, Any]) -> float | None:
        if not gold:
            return None
        if row.get("source") in self.dict_option_sources:
            option: Any = dict(opts.texts or {})
        else:
            option = row.get("answer_text") or (opts.texts or {}).get(gold.strip().upper())
        return seed_accuracy_value(text, gold, option)

    def bounds(self, correct: bool) -> tuple[float, float]:
        # In the seed's own reading: a correct answer is the letter (2) or the gold text (1);
        # anything else earns 0.
        return (1.0, 2.0) if correct else (0.0, 0.0)

    def outcome_bounds(self, outcome: str) -> tuple[float, float]:
        # a list of options that starts with the gold text ("Iron deficiency or zinc deficiency")
        # earns the seed's 1.0 text credit
        return (0.0, 1.0) if outcome == "listed" else self.bounds(outcome == "correct")


@register
@dataclass
class SeedFormat(RewardFn):
    """The seed's format reward, 0 to 2 (see :func:`seed_format_value`).

    >>> SeedFormat()(["<think>a</think><answer>B</answer>", "<answer>B</answer>"])
    [2.0, 0.0]
    """

    name = "seed_format"

    def score(self, text: str, gold: str | None, opts: Options, row: dict[str, Any]) -> float | None:
        return seed_format_value(text)

    def bounds(self, correct: bool) -> tuple[float, float]:
        return 0.0, 2.0


@register
@dataclass
class SeedXmlCount(RewardFn):
    """The seed's tag-count reward, 0 to 1 (see :func:`seed_xmlcount_value`).

    >>> SeedXmlCount()(["<think>a</think><answer>B</answer>", "<answer>B</answer>"])
    [1.0, 0.5]
    """

    name = "seed_xmlcount"

    def score(self, text: str, gold: str | None, opts: Options, row: dict[str, Any]) -> float | None:
        return seed_xmlcount_value(text)

    def bounds(self, correct: bool) -> tuple[float, float]:
        return 0.0, 1.0


PRESETS.register(
    "seed",
    RewardPreset(
        weights={"seed_accuracy": 1.0, "seed_format": 1.0, "seed_xmlcount": 1.0},
        note="rewards: seed is the seed study's reward as published and is kept as it is for exact "
        "reproduction (a warning, not an error): its format (0-2) and xmlcount (0-1) rewards together "
        "outweigh accuracy (2 for the letter, 1 for the gold text), so a completion is paid more for "
        "its tags than for being right. medzero's own recipes weight accuracy above everything else.",
    ),
)

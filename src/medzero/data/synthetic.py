"""A learnable synthetic medical-style task: name the class of an invented drug.

The answer follows a rule that is visible in the question: the drug's name ends in the suffix of
its class (``-olol`` beta blocker, ``-statin`` statin, ``-pril`` ACE inhibitor, ``-prazole``
proton pump inhibitor). The options are always the four classes in the same order, and the
stem wraps the drug in a random patient (age, sex, condition) drawn independently of the class,
so only the suffix carries the answer.

Drug names are a pronounceable invented stem plus the suffix. Every stem belongs to exactly one
split (decided by a hash of the stem, not by the seed), so ``"train"`` and ``"heldout"`` never
share a drug name whatever seeds are used: a model that scores on the held-out split has learnt
the rule, not the names. A constant answer scores about 25%.

>>> qs = drug_class_questions(2, seed=0)
>>> [q.source for q in qs], qs[0].letters
(['synthetic', 'synthetic'], ['A', 'B', 'C', 'D'])
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from typing import Literal

from medzero.data.prompts import PromptConfig
from medzero.data.schema import LETTERS, MCQ

Split = Literal["train", "heldout"]
SPLITS: tuple[str, ...] = ("train", "heldout")


@dataclass(frozen=True)
class DrugClass:
    """One class of the task: the option text and the name suffix that marks it."""

    name: str
    suffix: str


DRUG_CLASSES: tuple[DrugClass, ...] = (
    DrugClass("Beta blocker", "olol"),
    DrugClass("Statin", "statin"),
    DrugClass("ACE inhibitor", "pril"),
    DrugClass("Proton pump inhibitor", "prazole"),
)
# The rule-bearing suffixes; the tiny tokenizer always cuts them off as their own pieces.
SUFFIXES: tuple[str, ...] = tuple(c.suffix for c in DRUG_CLASSES)

_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"
# One stem in HELDOUT_EVERY goes to the held-out split (about 25% of all stems).
HELDOUT_EVERY = 4

_TEMPLATES = (
    "A {age}-year-old {sex} with {condition} is started on {drug}. To which drug class does {drug} belong?",
    "{drug} is prescribed to a {age}-year-old {sex} with {condition}. What is the class of {drug}?",
    "A {age}-year-old {sex} who has {condition} takes {drug}. Which class of medication is {drug}?",
    "Which drug class does {drug} belong to? It was given to a {age}-year-old {sex} with {condition}.",
)
_SEXES = ("man", "woman")
_CONDITIONS = (
    "hypertension",
    "type 2 diabetes",
    "chronic kidney disease",
    "asthma",
    "migraine",
    "gout",
    "osteoarthritis",
    "depression",
    "atrial fibrillation",
    "heart failure",
    "hypothyroidism",
    "a history of stroke",
)

# Prompt settings for this task and the tiny model: the r1zero tags with a one-line system prompt,
# so that prompts stay under ~100 tokens of the tiny tokenizer (the full r1zero prompt is ~290).
SYNTHETIC_PROMPT_CONFIG = PromptConfig(template="r1zero-short")


def stem_split(stem: str) -> Split:
    """The split a stem belongs to (fixed by its CRC32, independent of any seed)."""
    return "heldout" if zlib.crc32(stem.encode()) % HELDOUT_EVERY == 0 else "train"


def _all_stems() -> list[str]:
    """Every two-syllable consonant-vowel stem (``"bavi"``, ``"toke"``, ...), sorted."""
    syllables = [c + v for c in _CONSONANTS for v in _VOWELS]
    return [a + b for a in syllables for b in syllables]


def stems(split: Split) -> list[str]:
    """The stems of ``split`` in a fixed order."""
    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, got "{split}"')
    return [s for s in _all_stems() if stem_split(s) == split]


def drug_name(stem: str, drug_class: DrugClass) -> str:
    """``"bavi"`` + beta blocker -> ``"Baviolol"``."""
    return (stem + drug_class.suffix).capitalize()


def drug_class_questions(n: int, seed: int, split: Split = "train") -> list[MCQ]:
    """``n`` questions of the drug-class task, deterministic in ``(n, seed, split)``.

    Args:
        n: number of questions.
        seed: seeds a private :class:`random.Random` (the global generator is never touched).
        split: ``"train"`` or ``"heldout"``; the two use disjoint drug names.

    Ids are ``f"synthetic-{split}-{seed}-{i}"``; ``meta`` holds ``split``, ``drug``,
    ``drug_class`` and ``suffix``.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    pool = stems(split)
    rng = random.Random(f"medzero-synthetic-{split}-{seed}")
    options = {LETTERS[i]: c.name for i, c in enumerate(DRUG_CLASSES)}
    out = []
    for i in range(n):
        k = rng.randrange(len(DRUG_CLASSES))
        drug = drug_name(rng.choice(pool), DRUG_CLASSES[k])
        question = rng.choice(_TEMPLATES).format(
            age=rng.randint(18, 90), sex=rng.choice(_SEXES), condition=rng.choice(_CONDITIONS), drug=drug
        )
        out.append(
            MCQ(
                id=f"synthetic-{split}-{seed}-{i}",
                source="synthetic",
                question=question,
                options=dict(options),
                answer=LETTERS[k],
                meta={
                    "split": split,
                    "drug": drug,
                    "drug_class": DRUG_CLASSES[k].name,
                    "suffix": DRUG_CLASSES[k].suffix,
                },
            )
        )
    return out

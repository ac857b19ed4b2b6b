"""Synthetic rule tasks: medical-style MCQs whose answer follows a rule visible in the question.

A general facility for checking that a training recipe *learns* (``bench/tasks.py`` trains every
task with one recipe). Each :class:`RuleTask` has a fixed list of classes (the option texts, in a
fixed order, so the rule maps straight to a letter) and draws one question of a given class and
split. :func:`task_questions` balances the answer letters and keeps the splits disjoint: a
held-out question never shares the rule-bearing item (an invented name, a vignette's filler
combination, a number) with a training question, so a held-out score measures the rule.

Registered tasks (``TASKS``):

* ``drug-suffix`` — the class of an invented drug follows its suffix (4 options);
* ``term-prefix`` — the organ of an invented disease term follows its prefix (up to 8);
* ``vignette-keyword`` — one keyword among random findings of a vignette gives the diagnosis
  (up to 10);
* ``lab-threshold`` — a lab value against fixed thresholds gives its category (4);
* ``drug-suffix-shuffled`` — the drug task with the options shuffled per question (the rule no
  longer maps to a letter: the model must match option text).

>>> qs = task_questions("term-prefix", 16, seed=0, n_options=8)
>>> sorted({q.answer for q in qs}) == list("ABCDEFGH"), len(qs[0].options)
(True, 8)
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from medzero.data.schema import LETTERS, MCQ
from medzero.data.synthetic import (
    _CONDITIONS as _HISTORY,
)
from medzero.data.synthetic import (
    _TEMPLATES as DRUG_TEMPLATES,
)
from medzero.data.synthetic import (
    DRUG_CLASSES,
    SPLITS,
    Split,
    drug_name,
    stems,
)
from medzero.registry import Registry

# (question, meta) for class index k of the task, in split, drawn with rng.
Draw = Callable[[random.Random, int, Split], tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class RuleTask:
    """One synthetic rule task: class option texts (fixed order) and a question generator."""

    name: str
    description: str
    classes: tuple[str, ...]
    draw: Draw
    shuffle: bool = False  # options shuffled per question (the rule no longer maps to a letter)


TASKS: Registry[RuleTask] = Registry("synthetic task")

_SEXES = ("man", "woman")


def _split_of(key: str) -> Split:
    """Disjoint splits by a CRC32 of the rule-bearing item (one in four is held out)."""
    return "heldout" if zlib.crc32(key.encode()) % 4 == 0 else "train"


# ------------------------------------------------------------------------------------ drug suffix


def _draw_drug(rng: random.Random, k: int, split: Split) -> tuple[str, dict[str, Any]]:
    drug = drug_name(rng.choice(stems(split)), DRUG_CLASSES[k])
    question = rng.choice(DRUG_TEMPLATES).format(
        age=rng.randint(18, 90),
        sex=rng.choice(_SEXES),
        condition=rng.choice(_HISTORY),
        drug=drug,
    )
    return question, {"item": drug}


# ------------------------------------------------------------------------------------ term prefix

ORGAN_PREFIXES: tuple[tuple[str, str], ...] = (
    ("cardio", "Heart"),
    ("hepato", "Liver"),
    ("nephro", "Kidney"),
    ("pneumo", "Lung"),
    ("neuro", "Brain"),
    ("gastro", "Stomach"),
    ("dermato", "Skin"),
    ("osteo", "Bone"),
)
_ENDINGS = ("pathy", "itis", "osis", "emia")
_TERM_TEMPLATES = (
    "A {age}-year-old {sex} is diagnosed with {term} after {weeks} weeks of {symptom}. "
    "Which organ does {term} affect?",
    "Biopsy in a {age}-year-old {sex} with {symptom} confirms {term}. Which organ is involved in {term}?",
    "A {age}-year-old {sex} has {symptom}, and the report reads {term}. Which organ is affected?",
)
_SYMPTOMS = ("fatigue", "fever", "weight loss", "pain", "nausea", "malaise")


def _draw_term(rng: random.Random, k: int, split: Split) -> tuple[str, dict[str, Any]]:
    stem = rng.choice(stems(split))
    term = ORGAN_PREFIXES[k][0] + stem + rng.choice(_ENDINGS)
    question = rng.choice(_TERM_TEMPLATES).format(
        age=rng.randint(18, 90),
        sex=rng.choice(_SEXES),
        symptom=rng.choice(_SYMPTOMS),
        weeks=rng.randint(2, 9),
        term=term,
    )
    return question, {"item": term}


# ------------------------------------------------------------------------------- vignette keyword

KEYWORDS: tuple[tuple[str, str], ...] = (
    ("wheezing", "Asthma"),
    ("jaundice", "Viral hepatitis"),
    ("polyuria", "Diabetes mellitus"),
    ("hemoptysis", "Tuberculosis"),
    ("photophobia", "Meningitis"),
    ("melena", "Peptic ulcer disease"),
    ("dysuria", "Urinary tract infection"),
    ("palpitations", "Atrial fibrillation"),
    ("heat intolerance", "Hyperthyroidism"),
    ("joint swelling", "Rheumatoid arthritis"),
)
_FILLERS = (
    "fatigue",
    "headache",
    "nausea",
    "back pain",
    "insomnia",
    "mild fever",
    "dizziness",
    "poor appetite",
    "muscle aches",
    "a dry mouth",
    "cold hands",
    "sore eyes",
)
_BACKGROUND = ("gout", "osteoarthritis", "migraine", "depression", "eczema", "glaucoma")


def _draw_keyword(rng: random.Random, k: int, split: Split) -> tuple[str, dict[str, Any]]:
    while True:
        a, b = rng.sample(_FILLERS, 2)
        age = rng.randint(18, 90)
        if _split_of(f"{a}|{b}|{age}") == split:
            break
    findings = [a, b]
    findings.insert(rng.randrange(3), KEYWORDS[k][0])
    question = (
        f"A {age}-year-old {rng.choice(_SEXES)} presents with {findings[0]}, {findings[1]} and "
        f"{findings[2]} for {rng.randint(2, 9)} days. There is a history of {rng.choice(_BACKGROUND)}. "
        "What is the most likely diagnosis?"
    )
    return question, {"item": KEYWORDS[k][0]}


# --------------------------------------------------------------------------------- lab threshold

LAB_CATEGORIES: tuple[tuple[str, int, int], ...] = (  # category, lowest value, highest value
    ("Low", 10, 29),
    ("Borderline", 30, 49),
    ("High", 50, 69),
    ("Very high", 70, 89),
)
_LAB_TEMPLATES = (
    "A {sex} with {history} has a serum marker level of {value} units. How is this level classified?",
    "The serum marker level of a {sex} with {history} is {value} units. Which category is it?",
    "Screening of a {sex} with {history} shows a serum marker of {value} units. Classify the level.",
)


def _draw_lab(rng: random.Random, k: int, split: Split) -> tuple[str, dict[str, Any]]:
    _, low, high = LAB_CATEGORIES[k]
    value = rng.choice([v for v in range(low, high + 1) if _split_of(str(v)) == split])
    question = rng.choice(_LAB_TEMPLATES).format(
        sex=rng.choice(_SEXES), history=rng.choice(_HISTORY), value=value
    )
    return question, {"item": str(value)}


# ------------------------------------------------------------------------------------ registry

TASKS.register(
    "drug-suffix",
    RuleTask("drug-suffix", "drug class from the suffix of an invented drug name",
             tuple(c.name for c in DRUG_CLASSES), _draw_drug),
)  # fmt: skip
TASKS.register(
    "term-prefix",
    RuleTask("term-prefix", "organ from the prefix of an invented disease term",
             tuple(o for _, o in ORGAN_PREFIXES), _draw_term),
)  # fmt: skip
TASKS.register(
    "vignette-keyword",
    RuleTask("vignette-keyword", "diagnosis from one keyword among random findings of a vignette",
             tuple(d for _, d in KEYWORDS), _draw_keyword),
)  # fmt: skip
TASKS.register(
    "lab-threshold",
    RuleTask("lab-threshold", "category of a lab value against fixed thresholds",
             tuple(c for c, _, _ in LAB_CATEGORIES), _draw_lab),
)  # fmt: skip
TASKS.register(
    "drug-suffix-shuffled",
    RuleTask("drug-suffix-shuffled", "drug class from the suffix, options shuffled per question",
             tuple(c.name for c in DRUG_CLASSES), _draw_drug, shuffle=True),
)  # fmt: skip


def task_questions(
    task: str, n: int, seed: int, split: Split = "train", n_options: int | None = None
) -> list[MCQ]:
    """``n`` questions of ``task`` (a registered name), deterministic in all arguments.

    The first ``n_options`` classes are used (all when ``None``); answer letters are balanced
    (every block of ``n_options`` questions uses each letter once). ``meta`` holds ``split``,
    ``task``, ``item`` (the rule-bearing item) and ``class``.
    """
    spec = TASKS.get(task)
    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, got "{split}"')
    k_all = len(spec.classes)
    n_opt = k_all if n_options is None else n_options
    if not 2 <= n_opt <= k_all:
        raise ValueError(f"{task}: n_options must be 2..{k_all}, got {n_opt}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = random.Random(f"medzero-task-{task}-{n_opt}-{split}-{seed}")
    out: list[MCQ] = []
    block: list[int] = []
    for i in range(n):
        if not block:
            block = list(range(n_opt))
            rng.shuffle(block)
        slot = block.pop()  # the answer letter's position (balanced)
        if spec.shuffle:
            order = list(range(n_opt))
            rng.shuffle(order)
            k = order[slot]
        else:
            order, k = list(range(n_opt)), slot
        question, meta = spec.draw(rng, k, split)
        out.append(
            MCQ(
                id=f"{task}-{split}-{seed}-{i}",
                source="synthetic",
                question=question,
                options={LETTERS[j]: spec.classes[c] for j, c in enumerate(order)},
                answer=LETTERS[slot],
                meta={"split": split, "task": task, "class": spec.classes[k], **meta},
            )
        )
    return out

"""The synthetic rule tasks: fixed options, balanced letters, disjoint splits, determinism."""

from __future__ import annotations

from collections import Counter

import pytest

from medzero.data.synthetic_tasks import LAB_CATEGORIES, TASKS, task_questions
from medzero.errors import ConfigError


@pytest.mark.parametrize("task", TASKS.names())
def test_letters_are_balanced_and_questions_valid(task):
    qs = task_questions(task, 64, seed=3)
    k = len(qs[0].options)
    counts = Counter(q.answer for q in qs)
    assert set(counts) == set("ABCDEFGHIJ"[:k]) and max(counts.values()) - min(counts.values()) <= 1
    for q in qs:
        q.validate()
        assert q.options[q.answer] == q.meta["class"]
    assert task_questions(task, 64, seed=3) == qs  # deterministic
    assert task_questions(task, 64, seed=4) != qs


@pytest.mark.parametrize("task", [t for t in TASKS.names() if not TASKS.get(t).shuffle])
def test_fixed_option_order_maps_the_rule_to_a_letter(task):
    qs = task_questions(task, 40, seed=0)
    assert len({tuple(q.options.values()) for q in qs}) == 1


def test_shuffled_task_shuffles_the_options():
    qs = task_questions("drug-suffix-shuffled", 40, seed=0)
    assert len({tuple(q.options.values()) for q in qs}) > 10


@pytest.mark.parametrize("task", ["drug-suffix", "term-prefix", "lab-threshold"])
def test_heldout_items_never_occur_in_training(task):
    train = {q.meta["item"] for q in task_questions(task, 512, seed=0, split="train")}
    held = {q.meta["item"] for q in task_questions(task, 200, seed=0, split="heldout")}
    assert held and not train & held


def test_vignettes_differ_between_splits_and_the_keyword_decides():
    train = task_questions("vignette-keyword", 300, seed=0, split="train")
    held = task_questions("vignette-keyword", 100, seed=0, split="heldout")
    assert not {q.question for q in train} & {q.question for q in held}
    for q in held:
        assert q.meta["item"] in q.question


def test_lab_values_fall_in_their_category():
    for q in task_questions("lab-threshold", 100, seed=1):
        (low, high) = next((lo, hi) for c, lo, hi in LAB_CATEGORIES if c == q.meta["class"])
        assert low <= int(q.meta["item"]) <= high


def test_option_count_and_bad_arguments():
    assert len(task_questions("vignette-keyword", 4, seed=0, n_options=6)[0].options) == 6
    with pytest.raises(ValueError, match="n_options"):
        task_questions("drug-suffix", 4, seed=0, n_options=5)
    with pytest.raises(ConfigError, match="unknown synthetic task"):
        task_questions("no-such-task", 4, seed=0)

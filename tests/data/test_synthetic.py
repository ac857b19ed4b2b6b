import random
from collections import Counter

import pytest

from medzero.data.synthetic import (
    DRUG_CLASSES,
    SYNTHETIC_PROMPT_CONFIG,
    drug_class_questions,
    stem_split,
    stems,
)


def test_deterministic_in_n_seed_split():
    a = [q.to_dict() for q in drug_class_questions(50, seed=3, split="heldout")]
    b = [q.to_dict() for q in drug_class_questions(50, seed=3, split="heldout")]
    assert a == b
    # A prefix of a longer draw is the shorter draw.
    assert [q.to_dict() for q in drug_class_questions(20, seed=3, split="heldout")] == a[:20]
    assert [q.to_dict() for q in drug_class_questions(50, seed=4, split="heldout")] != a


def test_does_not_touch_global_random():
    random.seed(123)
    state = random.getstate()
    drug_class_questions(10, seed=0)
    assert random.getstate() == state


def test_train_and_heldout_drug_names_are_disjoint_across_seeds():
    train = {q.meta["drug"] for s in range(3) for q in drug_class_questions(400, seed=s, split="train")}
    held = {q.meta["drug"] for s in range(3) for q in drug_class_questions(400, seed=s, split="heldout")}
    assert train and held and not train & held
    assert not set(stems("train")) & set(stems("heldout"))
    assert all(stem_split(s) == "heldout" for s in stems("heldout"))


def test_answer_follows_the_suffix_rule_and_options_are_fixed():
    expected_options = {
        "A": "Beta blocker",
        "B": "Statin",
        "C": "ACE inhibitor",
        "D": "Proton pump inhibitor",
    }
    for q in drug_class_questions(200, seed=1, split="train"):
        q.validate()
        assert q.source == "synthetic"
        assert q.options == expected_options
        drug = q.meta["drug"]
        (cls,) = [c for c in DRUG_CLASSES if drug.endswith(c.suffix)]
        assert q.answer_text == cls.name == q.meta["drug_class"]
        assert drug in q.question


def test_answers_are_balanced_so_a_constant_answer_is_near_chance():
    counts = Counter(q.answer for q in drug_class_questions(800, seed=0, split="heldout"))
    assert set(counts) == {"A", "B", "C", "D"}
    assert max(counts.values()) / 800 < 0.32


def test_ids_are_unique_and_name_split_and_seed():
    ids = [q.id for q in drug_class_questions(100, seed=7, split="heldout")]
    assert len(set(ids)) == 100 and ids[0] == "synthetic-heldout-7-0"


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        drug_class_questions(1, seed=0, split="test")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n must be"):
        drug_class_questions(-1, seed=0)


def test_prompt_config_uses_think_answer_tags():
    system, instruction = SYNTHETIC_PROMPT_CONFIG.resolved()
    assert "<think>" in system and "<answer>" in system and "<answer>" in instruction

"""Training questions -> rows: every data source, seeded subsets, plain-text prompts."""

from __future__ import annotations

import json

import pytest

from medzero.data.loaders import sample_questions
from medzero.errors import ConfigError
from medzero.train.dataset import build_rows, load_questions
from medzero.train.recipe import DataSection


def test_prepared_folder_and_question_file(tmp_path):
    from medzero.data.prepare import prepare_from_mcqs

    qs = sample_questions()[:6]
    prepare_from_mcqs(qs, [], tmp_path / "prep", recipe="test", seed=0)
    got = load_questions(DataSection(prepared=str(tmp_path / "prep")))
    assert [q.id for q in got] == [q.id for q in qs] and got[0].answer == qs[0].answer

    path = tmp_path / "q.jsonl"
    path.write_text("".join(json.dumps(q.to_dict()) + "\n" for q in qs[:3]))
    # relative paths resolve against the recipe's folder when they do not exist from the cwd
    assert len(load_questions(DataSection(path="q.jsonl"), base_dir=tmp_path)) == 3


def test_sample_synthetic_and_seeded_limit():
    assert len(load_questions(DataSection(sample=True))) == len(sample_questions())
    a = load_questions(DataSection(synthetic=20, limit=5, seed=3))
    b = load_questions(DataSection(synthetic=20, limit=5, seed=3))
    assert [q.id for q in a] == [q.id for q in b] and len(a) == 5


def test_rows_without_a_chat_template_get_plain_text_prompts():
    qs = load_questions(DataSection(synthetic=3))
    rows, report = build_rows(qs, DataSection(synthetic=3), None)
    assert isinstance(rows[0]["prompt"], str) and rows[0]["prompt"].endswith("Assistant:")
    assert {"id", "answer", "options", "prompt"} <= set(rows[0]) and report.dropped == 0


def test_every_question_over_the_cap_is_an_error(tiny_model_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    data = DataSection(synthetic=3, prompt_max_tokens=5)
    with pytest.raises(ConfigError, match="prompt_max_tokens=5"):
        build_rows(load_questions(data), data, tok)

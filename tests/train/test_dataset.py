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
    # the synthetic task's r1zero-short template asks for think tags: R1-Zero's base-model prompt
    assert isinstance(rows[0]["prompt"], str) and rows[0]["prompt"].endswith("Assistant: <think>")
    assert {"id", "answer", "options", "prompt"} <= set(rows[0]) and report.dropped == 0


def test_every_question_over_the_cap_is_an_error(tiny_model_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    data = DataSection(synthetic=3, prompt_max_tokens=5)
    with pytest.raises(ConfigError, match="prompt_max_tokens=5"):
        build_rows(load_questions(data), data, tok)


def test_truncate_left_keeps_the_last_tokens_of_the_templated_prompt(tiny_model_dir):
    from transformers import AutoTokenizer

    from medzero.data.prompts import PromptConfig, messages_to_text
    from medzero.train.dataset import prompt_value

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    data = DataSection(
        synthetic=4,
        prompt_max_tokens=40,
        prompt_overflow="truncate_left",
        prompt=PromptConfig(template="seed"),
    )
    qs = load_questions(data)
    full = [messages_to_text(prompt_value(q, data, tok), tok) for q in qs]
    assert all(len(tok(t)["input_ids"]) > 40 for t in full)  # every prompt is over the cap
    rows, report = build_rows(qs, data, tok)
    assert report.truncated == 4 and report.dropped == 0 and report.max_tokens <= 40
    for row, text in zip(rows, full, strict=True):
        # plain text (TRL does not re-template it), within the cap as TRL counts it, and a tail
        # of the full prompt: the system prompt went first, the question's end and the
        # generation prompt stay
        assert isinstance(row["prompt"], str) and len(tok(row["prompt"])["input_ids"]) <= 40
        assert text.endswith(row["prompt"].lstrip()) and "sinceraly" not in row["prompt"]
    # under a generous cap nothing is cut, but the prompts are still the templated text
    roomy = DataSection(synthetic=4, prompt_max_tokens=4000, prompt_overflow="truncate_left")
    rows, report = build_rows(qs, roomy, tok)
    assert report.truncated == 0 and rows[0]["prompt"] == messages_to_text(
        prompt_value(qs[0], roomy, tok), tok
    )


def test_truncate_left_counts_the_bos_trl_adds():
    from medzero.train.dataset import trl_text, truncate_left

    class BosTokenizer:  # adds "<s>" like Llama/Gemma tokenizers; one token per character
        bos_token, bos_token_id = "<s>", 0

        def __call__(self, text, add_special_tokens=True):
            ids = [ord(c) for c in text]
            return {"input_ids": ([0] if add_special_tokens else []) + ids}

        def decode(self, ids):
            return "".join(chr(i) for i in ids)

    tok = BosTokenizer()
    # a BOS written by the chat template is removed, since TRL adds its own
    assert trl_text("<s>system: hi", tok) == "system: hi"
    text, n, cut = truncate_left("abcdefghij", tok, 5)
    assert (text, n, cut) == ("ghij", 5, True)  # 4 kept + the BOS TRL adds
    assert truncate_left("abc", tok, 5) == ("abc", 4, False)
    assert truncate_left("abc", tok, 1) is None

import pytest

from medzero.data.prompts import PromptConfig, build_messages, build_text, render_options
from medzero.data.rows import mcq_to_row, options_dict, row_to_mcq
from medzero.data.schema import MCQ
from medzero.errors import DataError


def q(**kw):
    base = dict(id="q1", source="sample", question="Which?", options={"A": "x", "B": "y"}, answer="B")
    base.update(kw)
    return MCQ(**base)


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"answer": "C"}, "answer"),
        ({"options": {"A": "x"}}, "options"),
        ({"options": {"A": "x", "C": "y"}}, "options"),
        ({"options": {"A": "x", "B": " "}}, "options.B"),
        ({"question": ""}, "question"),
        ({"id": ""}, "id"),
    ],
)
def test_validate_names_field(kw, field):
    with pytest.raises(DataError, match=f'f.jsonl:7: field "{field}"'):
        q(**kw).validate("f.jsonl", 7)


def test_row_roundtrip_and_options_shapes():
    m = q(meta={"split": "test"})
    row = mcq_to_row(m)
    assert row["options"] == ["x", "y"] and row["answer_text"] == "y"
    assert row_to_mcq(row) == m
    assert options_dict('{"B": "y", "A": "x"}') == {"A": "x", "B": "y"}


def test_prompt_layouts():
    m = q()
    assert render_options(m.options) == "(A) x\n(B) y"
    msgs = build_messages(m)
    assert msgs[0]["role"] == "system" and "<think>" in msgs[0]["content"]
    assert build_messages(m, PromptConfig(template="plain"))[0]["role"] == "user"
    merged = build_messages(m, PromptConfig(system_role="user"))
    assert len(merged) == 1 and merged[0]["content"].startswith("A conversation")
    assert build_text(m, PromptConfig(template="plain")).endswith("Assistant:")

import json

import pytest

from medzero.errors import DataError
from medzero.jsonl import JsonlAppender, iter_jsonl, repair_jsonl_tail, write_json_atomic


def test_bad_line_names_file_and_line(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text('{"a": 1}\n\n{"a": \n{"a": 3}\n')
    with pytest.raises(DataError, match=r"x.jsonl:3: invalid JSON"):
        list(iter_jsonl(p))
    errors: list[DataError] = []
    assert [o["a"] for _, o in iter_jsonl(p, errors)] == [1, 3]
    assert len(errors) == 1 and errors[0].line == 3


def test_torn_tail_is_repaired_before_append(tmp_path):
    p = tmp_path / "log.jsonl"
    p.write_text('{"i": 0}\n{"i": 1}\n{"i": 2, "tex')  # killed mid-write
    assert repair_jsonl_tail(p) > 0
    with JsonlAppender(p) as w:
        w.write({"i": 2})
    assert [o["i"] for _, o in iter_jsonl(p)] == [0, 1, 2]


def test_complete_but_invalid_last_line_is_cut(tmp_path):
    p = tmp_path / "log.jsonl"
    p.write_text('{"i": 0}\n{"i": \n')
    repair_jsonl_tail(p)
    assert p.read_text() == '{"i": 0}\n'


def test_write_json_atomic(tmp_path):
    p = tmp_path / "d" / "s.json"
    write_json_atomic(p, {"b": 1})
    assert json.loads(p.read_text()) == {"b": 1}
    assert not (tmp_path / "d" / "s.json.tmp").exists()

import json

import pytest

from medzero.data.schema import MCQ
from medzero.errors import DataError
from medzero.evaluate.exclusions import load_exclusions


def _q(qid: str, source: str) -> MCQ:
    return MCQ(qid, source, "q?", {"A": "x", "B": "y"}, "A")


def test_manifest_excludes_train_ids_of_the_matching_source_only(tmp_path):
    manifest = {
        "recipe": "dataset3",
        "seed": 0,
        "train_ids": {"medxpertqa": ["Text-1", "Text-2"]},
        "heldout_ids": {"medxpertqa": ["Text-3"]},
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    ex = load_exclusions(tmp_path)  # the folder holding manifest.json works too
    assert ex.excludes(_q("Text-1", "medxpertqa"))
    assert not ex.excludes(_q("Text-3", "medxpertqa"))  # held-out ids stay in
    assert not ex.excludes(_q("Text-1", "medqa"))  # same id, other source
    assert len(ex) == 2


def test_text_and_json_lists_exclude_ids_of_any_source(tmp_path):
    txt = tmp_path / "ids.txt"
    txt.write_text("# trained on\nmedqa-1\n\nText-9  # hard one\n")
    ex = load_exclusions(txt)
    assert ex.excludes(_q("medqa-1", "medqa")) and ex.excludes(_q("Text-9", "medxpertqa"))
    lst = tmp_path / "ids.json"
    lst.write_text('["a", 7]')
    assert load_exclusions(lst).excludes(_q("7", "x"))


def test_bad_exclusion_files_name_the_file_and_field(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_exclusions(tmp_path / "missing.json")
    bad = tmp_path / "m.json"
    bad.write_text(json.dumps({"train_ids": {"medqa": "q1"}}))
    with pytest.raises(DataError, match=r'm\.json: field "train_ids\.medqa": expected a list'):
        load_exclusions(bad)

"""`medzero data grade` on the command line: registered in the data group, user errors exit 2."""

from __future__ import annotations

import pytest

from medzero.cli import main


def test_grade_is_a_data_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["data", "grade", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--k" in out and "--backend" in out and "--easy-min" in out


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--k", "0"], "--k must be >= 1"),
        (["--easy-min", "0.2", "--medium-min", "0.5"], "medium_min"),
        (["--mode", "loose"], "--mode must be strict, last or lenient"),
    ],
)
def test_bad_options_exit_2_with_a_message(tmp_path, capsys, extra, message):
    questions = tmp_path / "q.jsonl"
    questions.write_text("")
    with pytest.raises(SystemExit) as exc:
        main(["data", "grade", str(questions), "--model", "m", "--out", str(tmp_path / "o"), *extra])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_missing_dataset_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["data", "grade", str(tmp_path / "nope.jsonl"), "--model", "m", "--out", str(tmp_path / "o")])
    assert exc.value.code == 2
    assert "dataset not found" in capsys.readouterr().err

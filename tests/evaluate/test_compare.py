import json

import pytest
from tests.evaluate.test_summary import rec
from typer.testing import CliRunner

from medzero.cli import build_app
from medzero.errors import DataError
from medzero.evaluate.compare import compare_runs


def _write(out, records):
    out.mkdir()
    (out / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.fixture
def two_runs(tmp_path):
    # A right on 0..7, B right on 0..3; B also scored q8 which A did not (not shared)
    a = [rec("medqa", f"q{i}", i < 8) for i in range(10) if i != 8]
    b = [rec("medqa", f"q{i}", i < 4) for i in range(10)]
    _write(tmp_path / "a", a)
    _write(tmp_path / "b", b)
    return tmp_path / "a", tmp_path / "b"


def test_paired_difference_on_shared_items(two_runs):
    diffs = compare_runs(*two_runs, n_boot=500)
    assert [d.mode for d in diffs] == ["strict", "last", "lenient"]
    d = diffs[0]
    assert d.n_shared == 9 and d.a == pytest.approx(8 / 9) and d.b == pytest.approx(4 / 9)
    assert d.diff.estimate == pytest.approx(4 / 9) and 0 < d.diff.low <= d.diff.estimate <= d.diff.high


def test_compare_command(two_runs):
    res = CliRunner().invoke(build_app(), ["eval", "compare", str(two_runs[0]), str(two_runs[1]), "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert rows[0]["benchmark"] == "medqa" and rows[0]["n_shared"] == 9
    res = CliRunner().invoke(build_app(), ["eval", "compare", str(two_runs[0]), str(two_runs[1])])
    assert "| medqa | strict | 9 | 88.9 | 44.4 | +44.4 [" in res.stdout


def test_compare_needs_eval_outputs(tmp_path):
    with pytest.raises(DataError, match=r"items\.jsonl"):
        compare_runs(tmp_path, tmp_path)

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from medzero.analyze.pipeline import analyze_run
from medzero.analyze.report import fmt, jsonable, render_html, render_md


def test_jsonable_makes_strict_json():
    obj = {"a": np.float64("nan"), "b": [np.int64(3), float("inf")], "_private": 1, "c": np.bool_(True)}
    assert jsonable(obj) == {"a": None, "b": [3, None], "c": True}
    json.dumps(jsonable(obj), allow_nan=False)


def test_report_files_are_written_and_self_contained(planted_stats):
    stats, _, out = planted_stats
    names = {p.name for p in out.iterdir()}
    assert {"report.html", "report.md", "stats.json", "rewards.png", "flips.png"} <= names
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == len(stats["plots"]) == 6
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", html) and "<script" not in html
    assert "<mark>Wait</mark>" in html and "<mark>let me double-check</mark>" in html
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "![" in md and "| Pearson r within prompt groups |" in md and "**Wait**" in md
    loaded = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    assert loaded["flips"]["flips"] == stats["flips"]["flips"] and "_scatter" not in loaded


def test_text_from_the_run_is_escaped(tmp_path):
    blocks = [("h1", "t"), ("p", "<script>alert(1)</script>"), ("table", ["<b>"], [["a&b"]]),
              ("example", "meta <i>", "x <img src=y> Wait", [(14, 18, "wait")])]  # fmt: skip
    html = render_html(blocks, tmp_path)
    assert "<script>" not in html and "&lt;script&gt;" in html and "a&amp;b" in html
    assert "&lt;img src=y&gt; <mark>Wait</mark>" in html
    assert "**Wait**" in render_md(blocks)


def test_number_format():
    assert (
        fmt(None) == "—" and fmt(float("nan")) == "—" and fmt(0.12345) == "0.123" and fmt(3e-7) == "3.00e-07"
    )


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_html_renders_in_headless_chromium(planted_run, tmp_path):
    run, _ = planted_run
    analyze_run(run, out_dir=tmp_path / "rep")
    shot = tmp_path / "shot.png"
    cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'prof'}",
           "--window-size=1100,2400", f"--screenshot={shot}", (tmp_path / "rep" / "report.html").as_uri()]  # fmt: skip
    subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    assert shot.exists(), "chromium wrote no screenshot"
    import matplotlib.image as mpimg

    img = mpimg.imread(shot)
    assert img.shape[0] >= 2000 and img.shape[1] >= 1000
    assert img[..., :3].std() > 0.05, "the screenshot is blank"
    dark = (img[..., :3].mean(axis=2) < 0.5).mean()
    assert dark > 0.01, "no text or plots visible"

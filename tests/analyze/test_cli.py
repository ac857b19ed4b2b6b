import json
import subprocess
import sys

from typer.testing import CliRunner

from medzero.cli import build_app


def test_analyze_command_prints_headline_json(planted_run, tmp_path):
    run, truth = planted_run
    lex = tmp_path / "lex.txt"
    lex.write_text("double-check\n", encoding="utf-8")
    res = CliRunner().invoke(build_app(), ["analyze", str(run), "--out", str(tmp_path / "rep"), "--lexicon", str(lex),
                                           "--no-plots"])  # fmt: skip
    assert res.exit_code == 0, res.output
    head = json.loads(res.stdout.strip().splitlines()[-1])
    assert head["flips"] == truth["flips"] and head["reflection_rise_step"] is not None
    stats = json.loads((tmp_path / "rep" / "stats.json").read_text())
    assert stats["reflection"]["lexicon"] == ["double-check"] and stats["plots"] == []


def test_empty_run_exits_2_with_a_clear_message_and_a_partial_report(tmp_path):
    (tmp_path / "run").mkdir()
    out = subprocess.run([sys.executable, "-m", "medzero.cli", "analyze", str(tmp_path / "run"), "--out",
                          str(tmp_path / "rep")], capture_output=True, text=True)  # fmt: skip
    err = " ".join(out.stderr.split())  # rich wraps long lines
    assert out.returncode == 2
    assert "empty run" in err and "nothing to analyse" in err and "Traceback" not in err
    assert (tmp_path / "rep" / "report.html").exists()


def test_missing_run_dir_is_a_clean_error(tmp_path):
    out = subprocess.run([sys.executable, "-m", "medzero.cli", "analyze", str(tmp_path / "nope"), "--out",
                          str(tmp_path / "rep")], capture_output=True, text=True)  # fmt: skip
    err = " ".join(out.stderr.split())
    assert out.returncode == 2 and "nope: no such file or directory" in err and "Traceback" not in err


def test_think_preopened_defaults_to_what_the_run_recorded(tmp_path, monkeypatch):
    import medzero.analyze.pipeline as pipeline

    seen = []

    def fake_analyze_run(run, evals, out, cfg, lex, plots=True):
        seen.append(cfg.think_preopened)
        return {"issues": [], "source": {"metric_steps": 1, "completions": 0}, "eval": []}

    monkeypatch.setattr(pipeline, "analyze_run", fake_analyze_run)
    run = tmp_path / "run"
    run.mkdir()
    (run / "run_info.json").write_text(json.dumps({"think_preopened": True}))
    for extra in ([], ["--no-think-preopened"]):
        res = CliRunner().invoke(build_app(), ["analyze", str(run), "--out", str(tmp_path / "rep"), *extra])
        assert res.exit_code == 0, res.output
    (run / "run_info.json").write_text(json.dumps({"think_preopened": False}))
    res = CliRunner().invoke(
        build_app(), ["analyze", str(run), "--out", str(tmp_path / "rep"), "--think-preopened"]
    )
    assert res.exit_code == 0, res.output
    assert seen == [True, False, True]

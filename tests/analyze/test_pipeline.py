import json

import pytest

from medzero.analyze.pipeline import AnalyzeConfig, analyze_run
from medzero.analyze.synthetic import SyntheticRun, write_synthetic_run
from medzero.errors import ConfigError


def test_planted_reward_length_correlation_recovered(planted_stats):
    stats, truth, _ = planted_stats
    rl = stats["reward_length"]
    assert rl["within_prompt"]["pearson"]["r"] == pytest.approx(truth["within_corr"], abs=0.05)
    assert rl["overall"]["pearson"]["r"] == pytest.approx(truth["overall_corr"], abs=0.05)
    w = rl["within_prompt"]["pearson"]
    assert w["lo"] < truth["within_corr"] < w["hi"] or abs(w["r"] - truth["within_corr"]) < 0.03
    assert len(rl["per_step"]["step"]) == 40 and stats["length_unit"] == "tokens"


def test_planted_reflection_rise_detected_near_its_step(planted_stats):
    stats, truth, _ = planted_stats
    r = stats["reflection"]
    assert abs(r["onset"]["step"] - truth["reflection_step"]) <= 2
    assert r["per_phrase"]["let me double-check"]["completions"] == truth["reflection_completions"]
    assert len(r["examples"]) == 4 and all("double-check" in e["text"] for e in r["examples"])


def test_no_planted_effects_means_no_findings(tmp_path):
    run = tmp_path / "run"
    write_synthetic_run(run, SyntheticRun(steps=30, within_corr=0.0, length_effect=0.0, reflection_step=None,
                                          flip_rate=0.0, seed=5))  # fmt: skip
    s = analyze_run(run, config=AnalyzeConfig(), plots=False)
    assert s["reflection"]["onset"]["step"] is None and s["flips"]["flips"] == 0
    assert abs(s["reward_length"]["overall"]["pearson"]["r"]) < 0.06


def test_trl_only_metrics_csv(tmp_path):
    csv = tmp_path / "wandb.csv"
    rows = ["train/global_step,train/reward,train/completions/mean_length,train/rewards/accuracy_reward/mean"]
    rows += [f"{s},{0.01 * s},{100 + 2 * s},{0.005 * s}" for s in range(1, 31)]
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    s = analyze_run(csv, out_dir=tmp_path / "rep")
    assert s["source"]["kind"] == "wandb_csv" and s["source"]["metric_steps"] == 30
    assert s["curve_correlation"]["levels"]["r"] == pytest.approx(1.0)
    assert "rewards/accuracy_reward/mean" in s["curves"] and "reflection" not in s
    assert any("metric curves only" in i for i in s["issues"])
    assert {"rewards.png", "length.png"} <= set(s["plots"])
    assert (tmp_path / "rep" / "report.html").exists()


def test_truncated_line_gives_a_partial_report(tmp_path, planted_run):
    run, _ = planted_run
    broken = tmp_path / "run"
    broken.mkdir()
    for name in ("metrics.jsonl", "config.yaml"):
        (broken / name).write_bytes((run / name).read_bytes())
    data = (run / "completions.jsonl").read_text(encoding="utf-8")
    (broken / "completions.jsonl").write_text(data[: len(data) - 100], encoding="utf-8")  # torn tail
    s = analyze_run(broken, out_dir=tmp_path / "rep")
    assert s["source"]["completions"] == 40 * 64 - 1
    assert any("completions.jsonl:2560: invalid JSON" in i for i in s["issues"])
    html = (tmp_path / "rep" / "report.html").read_text(encoding="utf-8")
    assert "Problems found while reading" in html and "completions.jsonl:2560" in html


def test_empty_run_still_writes_a_report_that_says_so(tmp_path):
    (tmp_path / "run").mkdir()
    s = analyze_run(tmp_path / "run", out_dir=tmp_path / "rep")
    assert s["source"]["completions"] == 0 and any("empty run" in i for i in s["issues"])
    assert "empty run" in (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    assert json.loads((tmp_path / "rep" / "stats.json").read_text())["plots"] == []


def test_config_is_checked():
    with pytest.raises(ConfigError, match="final_mode"):
        AnalyzeConfig(final_mode="loose")
    with pytest.raises(ConfigError, match="conf"):
        AnalyzeConfig(conf=95)

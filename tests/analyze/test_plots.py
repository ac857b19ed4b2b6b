from medzero.analyze.plots import PLOTS, draw_all


def test_every_plot_is_drawn_for_a_full_run(planted_stats, tmp_path):
    stats, _, _ = planted_stats
    drawn = draw_all(stats, tmp_path)
    # no eval output, no validation, no tool calls
    assert set(drawn) == set(PLOTS) - {"eval_length.png", "validation.png", "searches.png"}
    for name in drawn:
        data = (tmp_path / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 10_000


def test_nothing_is_drawn_without_data(tmp_path):
    stats = {"source": {}, "curves": {}, "eval": []}
    assert draw_all(stats, tmp_path) == {} and list(tmp_path.iterdir()) == []


def test_degenerate_run_skips_undefined_plots(tmp_path):
    """All rewards equal (a collapsed run) and an eval with 0% accuracy: no crash, no empty plots."""
    import json

    from medzero.analyze.pipeline import analyze_run

    run = tmp_path / "run"
    run.mkdir()
    rows = [{"step": s, "prompt_id": f"q{s}", "sample": i, "completion": "garbage", "completion_tokens": 16,
             "truncated": True, "rewards": {"accuracy": 0.0, "format": 0.0}, "reward": 0.0, "gold": "C"}
            for s in range(1, 4) for i in range(4)]  # fmt: skip
    (run / "completions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    ev = tmp_path / "ev"
    ev.mkdir()
    item = {"benchmark": "medqa", "id": "m-1", "sample": 0, "output": "x", "gold": "A", "completion_tokens": 10,
            "correct": {"strict": False, "last": False, "lenient": False}}  # fmt: skip
    (ev / "items.jsonl").write_text(json.dumps(item) + "\n", encoding="utf-8")
    s = analyze_run(run, [ev, ev], out_dir=tmp_path / "rep")
    assert "correlation.png" not in s["plots"] and {"eval_length.png", "reward_length_scatter.png"} <= set(
        s["plots"]
    )
    assert s["zero_variance"]["overall"] == 1.0 and s["eval"][0]["overall"]["lo"] == 0.0


def test_validation_curve_plot_and_report(tmp_path):
    """eval/* rows of metrics.jsonl (validation during training) and best/best.json: the curve,
    its plot, the report's section and the headline name the best step."""
    import json

    from medzero.analyze.pipeline import analyze_run, headline

    run = tmp_path / "run"
    (run / "best").mkdir(parents=True)
    rows = [{"step": s, "reward": 0.1 * s, "completions/mean_length": 10.0} for s in range(1, 7)]
    for step, strict in ((2, 0.5), (4, 0.75), (6, 0.25)):
        rows.append({"step": step, "eval/strict": strict, "eval/last": strict, "eval/lenient": strict + 0.1,
                     "eval/n": 20, "eval/truncated": 0.0})  # fmt: skip
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (run / "best" / "best.json").write_text(json.dumps({"step": 4, "score": 0.75}), encoding="utf-8")
    s = analyze_run(run, out_dir=tmp_path / "rep")
    v = s["validation"]
    assert v["step"] == [2, 4, 6] and v["eval/strict"] == [0.5, 0.75, 0.25] and v["eval/n"] == [20, 20, 20]
    assert v["best"] == {"step": 4, "strict": 0.75, "from": "best/best.json"}
    assert v["final"] == {"step": 6, "strict": 0.25}
    assert "validation.png" in s["plots"]
    assert (tmp_path / "rep" / "validation.png").read_bytes().startswith(b"\x89PNG")
    md = (tmp_path / "rep" / "report.md").read_text()
    assert (
        "## Validation during training" in md
        and "at step 4" in md
        and "| 6 | 0.250 | 0.250 | 0.350 | 20 |" in md
    )
    assert headline(s)["validation_best"]["step"] == 4
    assert s["curves"]["step"] == [1, 2, 3, 4, 5, 6] and "eval/strict" not in s["curves"]

    (run / "best" / "best.json").unlink()  # metrics only: the earliest highest strict accuracy
    (run / "metrics.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in [*rows, {"step": 7, "eval/strict": 0.75}]), encoding="utf-8"
    )
    assert analyze_run(run)["validation"]["best"] == {"step": 4, "strict": 0.75, "from": "metrics.jsonl"}

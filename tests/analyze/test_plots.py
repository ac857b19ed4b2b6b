from medzero.analyze.plots import PLOTS, draw_all


def test_every_plot_is_drawn_for_a_full_run(planted_stats, tmp_path):
    stats, _, _ = planted_stats
    drawn = draw_all(stats, tmp_path)
    assert set(drawn) == set(PLOTS) - {"eval_length.png"}  # no eval output given
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

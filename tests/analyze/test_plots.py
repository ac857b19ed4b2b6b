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

"""Online pass rates, as of an earlier generation batch."""

from __future__ import annotations

import json

import pytest

from medzero.curriculum.online import OnlineGrades


def test_window_keeps_the_most_recent_outcomes():
    g = OnlineGrades(window=4, min_observations=4)
    g.record(0, ["q"] * 4, [False] * 4)
    g.record(1, ["q"] * 4, [True] * 4)
    assert g.pass_rate("q", upto=0) == 0.0  # as seen before batch 1
    assert g.pass_rate("q", upto=1) == 1.0  # only the last 4 count
    assert g.rates(upto=1) == {"q": 1.0}


def test_too_few_observations_give_no_rate():
    g = OnlineGrades(window=8, min_observations=3)
    g.record(0, ["q", "q"], [True, True])
    assert g.pass_rate("q", upto=5) is None
    g.record(1, ["q"], [False])
    assert g.pass_rate("q", upto=5) == pytest.approx(2 / 3)


def test_state_round_trips_through_json():
    g = OnlineGrades(window=4, min_observations=1)
    g.record(3, ["a", "b"], [True, False])
    h = OnlineGrades(window=4, min_observations=1)
    h.load_state_dict(json.loads(json.dumps(g.state_dict())))
    assert h.rates(upto=3) == g.rates(upto=3) == {"a": 1.0, "b": 0.0}
    assert h.last_generation == 3


def test_bad_arguments():
    with pytest.raises(ValueError):
        OnlineGrades(window=2, min_observations=3)
    with pytest.raises(ValueError, match="2 ids but 1 outcomes"):
        OnlineGrades().record(0, ["a", "b"], [True])

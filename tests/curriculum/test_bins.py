"""Difficulty bins from pass rates."""

from __future__ import annotations

import pytest

from medzero.curriculum.bins import BINS, BinThresholds, assign_bin, bin_counts, check_bin_names
from medzero.errors import ConfigError


@pytest.mark.parametrize(
    "rate,expected",
    [
        (0.0, "unsolved"),  # no sample right
        (1 / 8, "hard"),  # one of eight
        (0.2499, "hard"),  # just under medium_min
        (0.25, "medium"),  # medium_min is inclusive
        (0.7499, "medium"),
        (0.75, "easy"),  # easy_min is inclusive
        (1.0, "easy"),
    ],
)
def test_default_thresholds(rate, expected):
    assert assign_bin(rate) == expected


def test_custom_thresholds_move_the_cut_points():
    t = BinThresholds.from_dict({"easy_min": 1.0, "medium_min": 0.5})
    assert [assign_bin(r, t) for r in (0.0, 0.25, 0.5, 0.875, 1.0)] == [
        "unsolved",
        "hard",
        "medium",
        "medium",
        "easy",
    ]


@pytest.mark.parametrize(
    "values", [{"easy_min": 0.2, "medium_min": 0.5}, {"medium_min": 0.0}, {"easy_min": 1.5}]
)
def test_inconsistent_thresholds_are_config_errors(values):
    with pytest.raises(ConfigError, match="medium_min"):
        BinThresholds.from_dict(values)


def test_unknown_threshold_key_and_bin_name():
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['easy'\]"):
        BinThresholds.from_dict({"easy": 0.8})
    with pytest.raises(ConfigError, match='Did you mean "medium"'):
        check_bin_names(["medum"], "curriculum.drop")


@pytest.mark.parametrize("rate", [-0.1, 1.01, float("nan")])
def test_rates_outside_unit_interval_are_rejected(rate):
    with pytest.raises(ValueError):
        assign_bin(rate)


def test_counts_list_every_bin_in_order():
    assert bin_counts(["hard", "easy", "hard"]) == {"easy": 1, "medium": 0, "hard": 2, "unsolved": 0}
    assert tuple(bin_counts([])) == BINS

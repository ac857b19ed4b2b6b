"""One definition of a flat (zero-variance) GRPO group for training and analysis."""

import doctest

import numpy as np

import medzero.rewards.variance
from medzero.analyze.stats import zero_variance_groups as analyzed
from medzero.curriculum.dynamic import zero_variance_groups as trained


def test_doctests() -> None:
    assert doctest.testmod(medzero.rewards.variance).failed == 0


def test_training_and_analysis_agree_on_which_groups_are_flat() -> None:
    # group 0: equal up to float summation noise (1e-7); group 1: a real difference; group 2: flat
    rewards = [1.2, 1.2 + 1e-7, 0.2, 1.2, 0.5, 0.5]
    flat_in_training = trained(rewards, 2)
    z = analyzed(np.array(rewards), np.repeat(np.arange(3), 2), np.ones(6))
    assert flat_in_training == [True, False, True]
    assert z["groups"] == 3 and z["overall"] == sum(flat_in_training) / 3

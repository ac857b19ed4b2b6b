"""Recipe sections `curriculum:` and `dynamic_sampling:`."""

from __future__ import annotations

import pytest

from medzero.curriculum.config import CurriculumConfig, DynamicSamplingConfig
from medzero.errors import ConfigError


def test_full_curriculum_section():
    c = CurriculumConfig.from_dict(
        {
            "order": "easy_to_hard",
            "stages": [{"steps": 50, "bins": ["easy", "medium"]}, {"ratios": {"medium": 1, "hard": 3}}],
            "drop": ["unsolved"],
            "thresholds": {"easy_min": 0.9},
        }
    )
    assert c.stages[0].bins == ("easy", "medium") and c.stages[1].ratios == {"medium": 0.25, "hard": 0.75}
    assert c.drop == ("unsolved",) and c.thresholds.easy_min == 0.9 and c.needs_grades()
    assert not CurriculumConfig.from_dict({}).needs_grades()


@pytest.mark.parametrize(
    "section,message",
    [
        ({"order": "easy-to-hard"}, 'Did you mean "easy_to_hard"'),
        ({"ratios": {"easy": 1, "hardest": 1}}, 'unknown difficulty bin "hardest"'),
        ({"ratios": {"easy": -1, "hard": 2}}, "must be >= 0"),
        (
            {"ratios": {"easy": 1}, "drop": ["easy"]},
            r"asks for bin\(s\) \['easy'\] that `curriculum.drop` removes",
        ),
        (
            {"stages": [{"bins": ["easy"]}, {"steps": 5, "bins": ["hard"]}]},
            r"stages\[0\]: only the last stage",
        ),
        ({"stages": [{"steps": 5, "bins": ["easy"], "ratios": {"easy": 1}}]}, "either `bins` or `ratios`"),
        ({"stages": [{"step": 5}]}, r'stages\[0\]: unknown key "step". Did you mean "steps"'),
        ({"stages": [{"steps": 0, "bins": ["easy"]}]}, "positive integer"),
    ],
)
def test_curriculum_errors_name_the_key(section, message):
    with pytest.raises(ConfigError, match=message):
        CurriculumConfig.from_dict(section)


def test_dynamic_sampling_defaults_and_errors():
    d = DynamicSamplingConfig.from_dict({"filter": "resample", "max_resample_rounds": 1})
    assert d.filter == "resample" and d.online_regrade and d.regrade_reward == "accuracy"
    with pytest.raises(ConfigError, match='Did you mean "mask"'):
        DynamicSamplingConfig.from_dict({"filter": "masked"})
    with pytest.raises(ConfigError, match='unknown key "easy_weigth"'):
        DynamicSamplingConfig.from_dict({"easy_weigth": 0.5})
    with pytest.raises(ConfigError, match="easy_weight must be in"):
        DynamicSamplingConfig.from_dict({"easy_weight": 2})
    with pytest.raises(ConfigError, match="min_observations <= window"):
        DynamicSamplingConfig.from_dict({"window": 4, "min_observations": 8})

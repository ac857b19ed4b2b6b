"""Reward functions: values, TRL signature, reward-hacking attempts, weights and their check."""

from __future__ import annotations

import doctest
import pickle

import pytest

import medzero.rewards.answer
import medzero.rewards.length
import medzero.rewards.structure
from medzero.errors import ConfigError
from medzero.rewards import (
    DEFAULT_WEIGHTS,
    REWARDS,
    Accuracy,
    CosineLength,
    Format,
    HedgePenalty,
    Overlong,
    Repetition,
    TagCount,
    build_reward_funcs,
    check_reward_weights,
)

OPTIONS = ["Benign carrier", "Folate deficiency", "Iron deficiency", "Parvovirus B19 infection"]
GOOD = "<think>Low reticulocytes point to aplasia.</think>\n<answer>D</answer>"


@pytest.mark.parametrize("mod", [medzero.rewards.answer, medzero.rewards.structure, medzero.rewards.length])
def test_doctests(mod: object) -> None:
    assert doctest.testmod(mod).failed == 0


def test_registry_names_and_metric_names() -> None:
    assert set(REWARDS.names()) >= {"accuracy", "format", "tag_count", "hedge_penalty", "cosine_length"}
    assert {"overlong", "repetition"} <= set(REWARDS.names())
    for name, fn in REWARDS.items():
        assert fn.__name__ == name


def test_accuracy_plain_and_conversational() -> None:
    comps = [GOOD, "<think>x</think><answer>C</answer>", "<think>x</think>no tag", "<think>only thinking"]
    assert Accuracy()(comps, answer=["D"] * 4, options=[OPTIONS] * 4) == [1.0, 0.0, 0.0, 0.0]
    conv = [[{"role": "assistant", "content": c}] for c in comps]
    assert Accuracy()(conv, answer=["D"] * 4, options=[OPTIONS] * 4) == [1.0, 0.0, 0.0, 0.0]
    assert Accuracy()([GOOD], answer=[None]) == [None]  # no gold: not applicable


def test_accuracy_text_credit() -> None:
    comps = ["<think>x</think><answer>It is parvovirus B19 infection, I think</answer>"]
    kw = {"answer": ["D"], "options": [OPTIONS], "answer_text": ["Parvovirus B19 infection"]}
    assert Accuracy()(comps, **kw) == [0.0]
    assert Accuracy(text_credit=0.5)(comps, **kw) == [0.5]
    with pytest.raises(ValueError):
        Accuracy(text_credit=2.0)


@pytest.mark.parametrize(
    ("completion", "why"),
    [
        ("<think>The answer is D.</think>I am not sure.", "answer only inside the thinking"),
        ("<think>x</think><answer>D</answer><answer>A</answer>", "several answers"),
        ("<think>x</think><answer>A, B, C, D</answer>", "all letters listed"),
        ("<think>x</think><answer>A/B/C/D</answer>", "all letters with slashes"),
        ("<think>x</think><answer>ABCD</answer>", "letters glued together"),
        ("<answer>D</answer><think>x</think>", "tags reversed"),
        ("<think><answer>D</answer></think>", "answer nested in the thinking"),
        ("<think>x<think>y</think></think>", "think nested, no answer"),
    ],
)
def test_reward_hacking_earns_no_accuracy(completion: str, why: str) -> None:
    assert Accuracy()([completion], answer=["D"], options=[OPTIONS]) == [0.0], why


def test_format_strict_soft_and_preopened() -> None:
    fmt, soft = Format(), Format(variant="soft")
    cases = {
        GOOD: (1.0, 1.0),
        "<think>x</think><answer>e</think><answer>A</answer>": (0.0, 0.0),  # stray tags (seen in training)
        "<think></think><answer>A</answer>": (0.0, 1.0),  # empty thinking
        "<think>x</think>Some words.<answer>A</answer> bye": (0.0, 1.0),
        "<think>x <answer>A</answer></think><answer>A</answer>": (0.0, 0.0),  # tag inside thinking
        "<answer>A</answer><think>x</think>": (0.0, 0.0),  # reversed
        "<think>x</ think><answer>A</answer>": (0.0, 0.0),  # malformed tag
        "<answer>A</answer>": (0.0, 0.0),
    }
    for text, (want, want_soft) in cases.items():
        assert fmt([text]) == [want], text
        assert soft([text]) == [want_soft], text
    pre = Format(think_preopened=True)
    assert pre(["reasoning</think>\n<answer>A</answer>"]) == [1.0]
    assert pre([GOOD]) == [0.0]  # a second <think> after the template opened one is stray
    with pytest.raises(ValueError):
        Format(variant="loose")


def test_tag_count_and_hedge_penalty() -> None:
    assert TagCount()([GOOD, "<answer>A</answer>", "<think>x</ think>"]) == [1.0, 0.5, 0.0]
    assert TagCount(think_preopened=True)(["x</think><answer>A</answer>"]) == [1.0]
    hp = HedgePenalty()(["<think>x</think><answer>A or B</answer>", GOOD], options=[OPTIONS] * 2)
    assert hp == [-1.0, 0.0]


def test_cosine_length_prefers_short_correct_and_long_wrong() -> None:
    r = CosineLength(max_len=100)
    short, long = [1] * 10, [1] * 90
    right = r([GOOD, GOOD], answer=["D", "D"], completion_ids=[short, long])
    wrong = r([GOOD, GOOD], answer=["A", "A"], completion_ids=[short, long])
    assert right[0] > right[1] > 0 > wrong[0] > wrong[1]
    with pytest.raises(ValueError, match="completion_ids"):
        r([GOOD], answer=["D"])


def test_overlong_and_repetition() -> None:
    r = Overlong(max_completion_length=100, cache_length=20)
    ids = [[0] * 50, [0] * 90, [0] * 100, [0] * 130]
    assert r(["x"] * 4, completion_ids=ids) == [0.0, -0.5, -1.0, -1.0]
    with pytest.raises(ValueError, match="max_completion_length"):
        Overlong()(["x"], completion_ids=[[0]])
    rep = Repetition()(["one two three four five", "go on " * 200, ""])
    assert rep[0] == 0.0 and rep[1] < -0.9 and rep[2] == 0.0


def test_giant_completion_is_fast_and_scored() -> None:
    giant = "<think>" + "the answer is A or B. " * 50_000 + "</think><answer>D</answer>"
    assert Accuracy()([giant], answer=["D"], options=[OPTIONS]) == [1.0]
    assert Format()([giant]) == [1.0]


def test_build_reward_funcs_params_and_pickling() -> None:
    funcs, weights = build_reward_funcs({"accuracy": 1.0, "format": 0.5}, format={"think_preopened": True})
    assert [f.__name__ for f in funcs] == ["accuracy", "format"] and weights == [1.0, 0.5]
    assert funcs[1].think_preopened is True
    clone = pickle.loads(pickle.dumps(funcs[1]))
    assert clone.__name__ == "format" and clone(["x</think><answer>A</answer>"]) == [1.0]
    funcs, _ = build_reward_funcs(None)
    assert [f.__name__ for f in funcs] == list(DEFAULT_WEIGHTS)
    with pytest.raises(ConfigError, match="Did you mean"):
        build_reward_funcs({"acuracy": 1.0})
    with pytest.raises(ConfigError, match="unknown parameter"):
        build_reward_funcs({"format": 1.0}, {"format": {"varient": "soft"}})
    with pytest.raises(ConfigError, match="not among the rewards"):
        build_reward_funcs({"format": 1.0}, {"accuracy": {"text_credit": 0.5}})
    with pytest.raises(ConfigError, match="set max_completion_length"):
        build_reward_funcs({"accuracy": 1.0, "overlong": 0.5})
    with pytest.raises(ConfigError, match="cache_length must be"):
        build_reward_funcs({"overlong": 1.0}, {"overlong": {"max_completion_length": 10, "cache_length": 50}})


def test_check_reward_weights() -> None:
    assert check_reward_weights(DEFAULT_WEIGHTS) == []
    seed = {"accuracy": 2.0, "format": 1.0, "tag_count": 1.0, "hedge_penalty": 1.0}
    (warning,) = check_reward_weights(seed)
    assert "format" in warning and "tag_count" in warning and "hedge_penalty" not in warning
    assert check_reward_weights({"format": 1.0})[0].startswith("no reward")
    assert check_reward_weights({"accuracy": 1.0, "cosine_length": 1.0}) == []
    assert check_reward_weights({"accuracy": 1.0}, None) == []


def test_verl_compute_score() -> None:
    from medzero.rewards.verl import compute_score

    extra = {"options": OPTIONS}
    good = compute_score("medqa", GOOD, "D", extra)
    assert good["score"] == pytest.approx(1.2) and good["pred"] == "D" and good["accuracy"] == 1.0
    wrong = compute_score("medqa", "<think>x</think><answer>A</answer>", "D", extra)
    assert wrong["score"] == pytest.approx(0.2) and wrong["pred"] == "A"
    custom = compute_score("medqa", GOOD, "D", {**extra, "reward_weights": {"accuracy": 2.0}})
    assert custom["score"] == pytest.approx(2.0) and "format" not in custom
    pre = {
        **extra,
        "reward_weights": {"accuracy": 1.0},
        "reward_params": {"accuracy": {"think_preopened": True}},
    }
    assert compute_score("medqa", "x</think><answer>D</answer>", "D", pre)["pred"] == "D"


def test_called_like_trl_grpo_trainer() -> None:
    """GRPOTrainer passes prompts, completions, completion_ids, every dataset column, the trainer
    state and two logging callables as keywords."""
    completions = [[{"role": "assistant", "content": GOOD}], [{"role": "assistant", "content": "<answer>A"}]]
    kwargs = {
        "prompts": [[{"role": "user", "content": "Q?"}]] * 2,
        "completions": completions,
        "completion_ids": [[1, 2, 3], [4, 5]],
        "id": ["q1", "q1"],
        "source": ["medqa", "medqa"],
        "question": ["Q?", "Q?"],
        "options": [OPTIONS, OPTIONS],
        "answer": ["D", "D"],
        "answer_text": ["Parvovirus B19 infection"] * 2,
        "meta": ["{}", "{}"],
        "trainer_state": object(),
        "log_extra": lambda *a, **k: None,
        "log_metric": lambda *a, **k: None,
    }
    funcs, _ = build_reward_funcs(
        {name: 1.0 for name in REWARDS.names()}, {"overlong": {"max_completion_length": 4, "cache_length": 2}}
    )
    values = {f.__name__: f(**kwargs) for f in funcs}
    assert values["accuracy"] == [1.0, 0.0]
    assert values["format"] == [1.0, 0.0]
    assert values["overlong"] == [-0.5, 0.0]
    assert all(len(v) == 2 for v in values.values())


def test_text_credit_only_for_an_answer_naming_one_option_text() -> None:
    kw = {"answer": ["D"], "options": [OPTIONS], "answer_text": ["Parvovirus B19 infection"]}
    every = "<think>x</think><answer>" + ", ".join(OPTIONS) + "</answer>"
    two = "<think>x</think><answer>iron deficiency or parvovirus B19 infection</answer>"
    one = "<think>x</think><answer>I would say parvovirus B19 infection here</answer>"
    assert Accuracy(text_credit=0.5)([every, two, one], **{k: v * 3 for k, v in kw.items()}) == [
        0.0,
        0.0,
        0.5,
    ]


def test_check_reward_weights_flags_settings_where_listing_options_pays() -> None:
    # no listing warning for the defaults, nor for any text credit (a list never earns it)
    assert check_reward_weights({"accuracy": 1.0, "format": 0.2}, {"accuracy": {"text_credit": 0.5}}) == []
    # a negative weight on the hedge penalty pays for hedges: 0.5 per list against 0.1 per guess
    (warning,) = check_reward_weights({"accuracy": 1.0, "hedge_penalty": -0.5})
    assert "listing several options can score 0.50" in warning and "0.10" in warning
    assert check_reward_weights({"accuracy": 1.0, "hedge_penalty": -0.4}, n_options=2) == []  # 0.4 < 0.5

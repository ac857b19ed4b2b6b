"""Dynamic sampling: the zero-variance filter on crafted batches, resampling, online grades."""

from __future__ import annotations

import math
from collections import defaultdict
from types import SimpleNamespace

import pytest
import torch

from medzero.curriculum import apply
from medzero.curriculum.config import CurriculumConfig, DynamicSamplingConfig
from medzero.curriculum.dynamic import total_rewards, zero_variance_groups
from medzero.curriculum.sampler import CurriculumSampler
from medzero.errors import ConfigError

NAN = float("nan")


def test_zero_variance_groups_on_a_crafted_batch():
    rewards = [
        1.2, 1.2, 1.2,  # all right and well formatted: flat
        0.0, 1.2, 0.2,  # mixed: signal
        0.2, 0.2, 0.2,  # all wrong but formatted: flat
        NAN, 1.0, 1.0,  # one unscorable, the rest equal: flat
        NAN, NAN, 0.5,  # fewer than two real rewards: flat
        1.0, 1.0 + 1e-9, 1.0,  # equal within eps: flat
    ]  # fmt: skip
    assert zero_variance_groups(rewards, 3) == [True, False, True, True, True, True]
    with pytest.raises(ValueError, match="groups of 4"):
        zero_variance_groups(rewards, 4)


def test_total_rewards_weights_and_keeps_unscorable_rows_nan():
    got = total_rewards(torch.tensor([[1.0, 1.0], [0.0, NAN], [NAN, NAN]]), torch.tensor([1.0, 0.2]))
    assert got[:2] == pytest.approx([1.2, 0.0]) and math.isnan(got[2])


# ---- the trainer subclass, on a stand-in for GRPOTrainer with the same hooks ----------------------

SCRIPT = {  # accuracy reward of each completion of a question, by question id (G = 2)
    "a": [1.0, 1.0],  # solved every time: flat
    "b": [1.0, 0.0],
    "c": [0.0, 0.0],  # never solved: flat
    "d": [0.0, 1.0],
}
DATASET = [{"id": k, "prompt": f"question {k}"} for k in SCRIPT]


class FakeGRPOTrainer:
    """Just the attributes and hooks of trl.GRPOTrainer that the subclass uses (one process)."""

    def __init__(self, train_dataset):
        self.args = SimpleNamespace(
            seed=0, generation_batch_size=4, steps_per_generation=1, gradient_accumulation_steps=1
        )
        self.num_generations, self.num_iterations = 2, 1
        self.reward_func_names, self.reward_weights = ["accuracy", "format"], torch.tensor([1.0, 0.0])
        self.train_dataset = train_dataset
        self.state = SimpleNamespace(global_step=0)
        self._metrics = {"train": defaultdict(list)}
        self.model = SimpleNamespace(training=True)
        self.accelerator = SimpleNamespace(process_index=0, num_processes=1, gather=lambda t: t)
        self.batches: list[list[str]] = []
        self.recorded: list[list[str]] = []  # what medzero's trainer would write to completions.jsonl

    # medzero's trainer hook (MedzeroGRPOTrainer.record_each_round / record_completions)
    record_each_round = True

    def record_completions(self, inputs):
        self.recorded.append([row["id"] for row in inputs])

    def _get_train_sampler(self, dataset=None):
        return "trl's RepeatSampler"

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        seen: dict[str, int] = defaultdict(int)
        acc = []
        for row in inputs:
            acc.append(SCRIPT[row["id"]][seen[row["id"]]])
            seen[row["id"]] += 1
        return torch.tensor([[a, 1.0] for a in acc])

    def _generate_and_score_completions(self, inputs):
        self.batches.append([row["id"] for row in inputs])
        rewards = self._calculate_rewards(inputs, None, None, None)
        self._metrics["train"]["reward"].append(rewards[:, 0].mean().item())
        if self.record_each_round:
            self.record_completions(inputs)
        return {
            "completion_mask": torch.ones(len(inputs), 3, dtype=torch.long),
            "num_items_in_batch": torch.tensor(3 * len(inputs)),
        }


def rows(*ids):
    return [dict(DATASET[list(SCRIPT).index(i)]) for i in ids for _ in range(2)]


def trainer(dynamic=None, curriculum=None):
    cls = apply(FakeGRPOTrainer, {"curriculum": curriculum, "dynamic_sampling": dynamic})
    return cls(DATASET)


def test_mask_drops_flat_groups_from_the_loss_and_logs_the_count():
    t = trainer({"filter": "mask", "online_regrade": False})
    out = t._generate_and_score_completions(rows("a", "b"))
    assert out["completion_mask"].sum(dim=1).tolist() == [0, 0, 3, 3]  # group "a" is out
    assert int(out["num_items_in_batch"]) == 6  # the loss normaliser counts only live tokens
    assert t._metrics["train"]["curriculum/filtered_groups"] == [1.0]
    assert t._get_train_sampler() == "trl's RepeatSampler"  # no curriculum, no online grades: TRL's own


def test_off_counts_but_keeps_flat_groups():
    t = trainer({"filter": "off", "online_regrade": False})
    out = t._generate_and_score_completions(rows("a", "c"))
    assert int(out["completion_mask"].sum()) == 12
    assert t._metrics["train"]["curriculum/zero_std_groups"] == [2.0]
    assert t._metrics["train"]["curriculum/filtered_groups"] == [0.0]


def test_resample_replaces_flat_groups_and_forgets_the_discarded_round():
    t = trainer({"filter": "resample", "max_resample_rounds": 1, "online_regrade": False})
    out = t._generate_and_score_completions(rows("a", "c"))
    first, second = t.batches
    assert first == ["a", "a", "c", "c"]
    assert sorted(set(second)) == ["b", "d"] and second[0] == second[1]  # whole groups swapped
    assert int(out["completion_mask"].sum()) == 12  # the new groups carry signal: nothing masked
    m = t._metrics["train"]
    assert len(m["reward"]) == 1 and m["curriculum/resampled_groups"] == [2.0]
    assert t.recorded == [second]  # completions.jsonl gets the round that trains, once
    # the draw is seeded: the same batch is replaced the same way on every rank and rerun
    t2 = trainer({"filter": "resample", "max_resample_rounds": 1, "online_regrade": False})
    t2._generate_and_score_completions(rows("a", "c"))
    assert t2.batches == t.batches


def test_online_regrading_records_passes_and_feeds_the_sampler():
    dyn = {"filter": "mask", "window": 2, "min_observations": 2, "easy_weight": 0.0}
    t = trainer(dyn)
    t._generate_and_score_completions(rows("a", "b"))
    assert t._online.rates(upto=0) == {"a": 1.0, "b": 0.5}
    assert t._metrics["train"]["curriculum/online_easy"] == [1.0]
    sampler = t._get_train_sampler()
    assert isinstance(sampler, CurriculumSampler) and sampler.online is t._online


def test_regrade_reward_must_be_one_of_the_runs_rewards():
    with pytest.raises(ConfigError, match='"correct" is not one of this run\'s reward functions'):
        trainer({"regrade_reward": "correct"})


def test_curriculum_asking_for_a_missing_bin_fails_at_construction():
    graded = [dict(r, difficulty="easy", pass_rate=1.0) for r in DATASET]
    cls = apply(FakeGRPOTrainer, {"curriculum": {"ratios": {"easy": 1, "hard": 1}}})
    with pytest.raises(ConfigError, match='asks for bin "hard"'):
        cls(graded)
    ok = apply(FakeGRPOTrainer, {"curriculum": CurriculumConfig(ratios={"easy": 1.0})})(graded)
    assert isinstance(ok._get_train_sampler(), CurriculumSampler)
    assert apply(FakeGRPOTrainer, {"dynamic_sampling": DynamicSamplingConfig()}).__name__ == (
        "CurriculumFakeGRPOTrainer"
    )


def test_apply_checks_the_recipe_against_the_data_before_any_model_loads():
    args = SimpleNamespace(
        seed=0,
        generation_batch_size=4,
        steps_per_generation=1,
        gradient_accumulation_steps=1,
        num_generations=2,
        num_iterations=1,
    )
    graded = [dict(r, difficulty="easy", pass_rate=1.0) for r in DATASET]
    with pytest.raises(ConfigError, match='asks for bin "hard"'):
        apply(object, {"curriculum": {"ratios": {"hard": 1}}}, dataset=graded, args=args)
    with pytest.raises(ConfigError, match=r'run\.yaml: dynamic_sampling\.regrade_reward "acc" is not among'):
        apply(
            object,
            {
                "source": "run.yaml",
                "rewards": {"accuracy": 1.0},
                "dynamic_sampling": {"regrade_reward": "acc"},
            },
        )
    with pytest.raises(ConfigError, match=r'run\.yaml: curriculum: unknown key "orderr"'):
        apply(object, {"source": "run.yaml", "curriculum": {"orderr": "random"}})

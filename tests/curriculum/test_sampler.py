"""The curriculum sampler: TRL's repeat layout, determinism, ratios, stages, rank partitioning."""

from __future__ import annotations

from collections import Counter

import pytest

from medzero.curriculum.config import CurriculumConfig
from medzero.curriculum.online import OnlineGrades
from medzero.curriculum.sampler import CurriculumSampler, DifficultyTable
from medzero.errors import ConfigError, DataError

RATE = {"easy": 0.875, "medium": 0.5, "hard": 0.125, "unsolved": 0.0}


def table(n_per_bin: dict[str, int]) -> DifficultyTable:
    rows = [
        {"id": f"{b}-{k}", "pass_rate": RATE[b] - 0.01 * (k % 3), "difficulty": b}
        for b, n in n_per_bin.items()
        for k in range(n)
    ]
    return DifficultyTable.from_dataset(rows, source="toy.jsonl")


def make(tab, cfg=None, **kw):
    opts = {"mini_repeat_count": 2, "batch_size": 4, "repeat_count": 1, "seed": 7} | kw
    return CurriculumSampler(tab, cfg or CurriculumConfig(), **opts)


def chunks_of(sampler, epoch=0):
    """Distinct prompts per generation batch, read back from the flat index stream."""
    sampler.set_epoch(epoch)
    flat = list(sampler)
    size = sampler.batch_size * sampler.mini_repeat_count * sampler.repeat_count
    out = []
    for start in range(0, len(flat), size):
        block = flat[start : start + size][: sampler.batch_size * sampler.mini_repeat_count]
        out.append(block[:: sampler.mini_repeat_count])
    return out


TAB = table({"easy": 8, "medium": 8, "hard": 8, "unsolved": 8})


def test_layout_matches_trl_repeat_sampler():
    from trl.trainer.utils import RepeatSampler

    def relabel(stream):  # the shape of the stream, independent of which prompts fill it
        seen = {}
        return [seen.setdefault(i, len(seen)) for i in stream]

    ours = make(TAB, mini_repeat_count=3, batch_size=4, repeat_count=2)
    trl = RepeatSampler(list(range(len(TAB))), mini_repeat_count=3, batch_size=4, repeat_count=2, seed=7)
    assert len(list(ours)) == len(ours) == len(list(trl))
    assert relabel(list(ours)) == relabel(list(trl))


def test_same_seed_same_order_other_seed_other_order():
    assert list(make(TAB)) == list(make(TAB))
    assert list(make(TAB)) != list(make(TAB, seed=8))


def test_random_epoch_visits_each_question_once_and_epochs_differ():
    s = make(TAB)
    e0, e1 = chunks_of(s, 0), chunks_of(s, 1)
    flat0 = [i for ch in e0 for i in ch]
    assert sorted(flat0) == list(range(len(TAB)))  # 32 questions, 8 chunks of 4, no repeats
    assert e0 != e1
    # set_epoch makes an epoch reproducible, whatever was read before (resume replays it)
    assert chunks_of(make(TAB), 1) == e1


def test_ratios_hold_over_the_run():
    cfg = CurriculumConfig.from_dict({"ratios": {"easy": 0.25, "medium": 0.5, "hard": 0.25}})
    s = make(TAB, cfg, batch_size=4)
    got = Counter(TAB.bins[i] for e in range(5) for ch in chunks_of(s, e) for i in ch)
    total = sum(got.values())
    assert got["unsolved"] == 0
    assert got == {"easy": total // 4, "medium": total // 2, "hard": total // 4}


def test_easy_to_hard_sorts_each_pass_by_pass_rate():
    cfg = CurriculumConfig(order="easy_to_hard")
    mean_rates = [sum(TAB.pass_rates[i] for i in ch) / len(ch) for ch in chunks_of(make(TAB, cfg))]
    assert mean_rates == sorted(mean_rates, reverse=True)
    assert mean_rates[0] > mean_rates[-1]
    cfg = CurriculumConfig(order="hard_to_easy")
    mean_rates = [sum(TAB.pass_rates[i] for i in ch) / len(ch) for ch in chunks_of(make(TAB, cfg))]
    assert mean_rates == sorted(mean_rates)


def test_stages_switch_bins_after_their_steps_and_drop_removes_bins():
    cfg = CurriculumConfig.from_dict(
        {
            "stages": [{"steps": 3, "bins": ["easy"]}, {"ratios": {"medium": 1, "hard": 1}}],
            "drop": ["unsolved"],
        }
    )
    chunks = chunks_of(make(TAB, cfg, steps_per_chunk=1.0))
    bins = [{TAB.bins[i] for i in ch} for ch in chunks]
    assert bins[:3] == [{"easy"}] * 3
    assert all(b == {"medium", "hard"} for b in bins[3:])
    assert len(chunks) == 24 // 4  # an epoch covers the 24 kept questions


def simulate_ranks(num_processes, per_device_bs, steps_per_generation, **kw):
    """What each rank's data loader yields: accelerate's BatchSamplerShard over an own sampler copy."""
    from accelerate.data_loader import BatchSamplerShard
    from torch.utils.data import BatchSampler

    out = []
    for rank in range(num_processes):
        s = make(TAB, **kw)  # every rank builds its own sampler with the same seed
        bs = BatchSampler(s, per_device_bs * steps_per_generation, drop_last=False)
        out.append(list(BatchSamplerShard(bs, num_processes=num_processes, process_index=rank)))
    return out


@pytest.mark.parametrize("num_processes,per_device_bs,gens", [(2, 4, 2), (2, 3, 2), (4, 2, 4)])
def test_ranks_share_each_generation_batch_without_duplicates(num_processes, per_device_bs, gens):
    # generation_batch_size = num_processes * per_device_bs (steps_per_generation=1)
    batch_size = num_processes * per_device_bs // gens
    per_rank = simulate_ranks(num_processes, per_device_bs, 1, mini_repeat_count=gens, batch_size=batch_size)
    ref = list(make(TAB, mini_repeat_count=gens, batch_size=batch_size))
    n_steps = len(per_rank[0])
    assert all(len(r) == n_steps for r in per_rank)
    for step in range(n_steps):
        merged = [i for r in per_rank for i in r[step]]
        size = num_processes * per_device_bs
        assert merged == ref[step * size : (step + 1) * size]  # ranks hold consecutive slices
        assert set(Counter(merged).values()) == {gens}  # every prompt exactly G times: whole groups
        assert len(set(merged)) == batch_size


def test_online_grades_down_weight_questions_that_became_easy():
    tab = table({"hard": 16})
    online = OnlineGrades(window=4, min_observations=2)
    solved = [i for i in range(8)]  # the model now solves the first 8 hard questions every time
    online.record(0, [tab.ids[i] for i in solved for _ in range(4)], [True] * 32)
    s = make(tab, CurriculumConfig(), online=online, easy_weight=0.0, lag=1, batch_size=4)
    early = s.chunk(0)  # generated before the grades are visible (lag)
    later = [i for c in range(1, 9) for i in s.chunk(c)]
    assert early == make(tab, CurriculumConfig(), batch_size=4).chunk(0)  # grades not visible yet
    assert not set(later) & set(solved)
    # the same grades and seed give the same order on another rank
    twin = make(tab, CurriculumConfig(), online=online, easy_weight=0.0, lag=1, batch_size=4)
    assert [twin.chunk(c) for c in range(9)] == [s.chunk(c) for c in range(9)]


def test_missing_bin_is_a_config_error_naming_it():
    tab = table({"easy": 8, "medium": 8})
    cfg = CurriculumConfig.from_dict({"ratios": {"easy": 0.3, "medium": 0.5, "hard": 0.2}})
    with pytest.raises(ConfigError, match=r'asks for bin "hard".*toy\.jsonl'):
        make(tab, cfg)


def test_curriculum_on_ungraded_data_is_a_config_error():
    tab = DifficultyTable.from_dataset([{"id": str(i)} for i in range(8)], source="plain.jsonl")
    with pytest.raises(ConfigError, match="medzero data grade"):
        make(tab, CurriculumConfig(order="easy_to_hard"))
    assert len(list(make(tab, CurriculumConfig()))) == 8 * 2  # a random order needs no grades


def test_bad_difficulty_value_names_row_and_field():
    with pytest.raises(DataError, match=r'toy:1: field "difficulty"'):
        DifficultyTable.from_dataset([{"difficulty": "easy"}, {"difficulty": "trivial"}], source="toy")


def test_too_few_questions_for_a_batch():
    with pytest.raises(ConfigError, match="fewer than the 4 distinct prompts"):
        make(table({"easy": 2, "medium": 1}), CurriculumConfig(drop=("unsolved",)))


def test_allowed_rows_follow_the_stage_and_drop():
    cfg = CurriculumConfig.from_dict(
        {
            "stages": [{"steps": 3, "bins": ["easy"]}, {"ratios": {"medium": 1, "hard": 1}}],
            "drop": ["unsolved"],
        }
    )
    s = make(TAB, cfg)
    assert {TAB.bins[i] for i in s.allowed(0)} == {"easy"}
    assert {TAB.bins[i] for i in s.allowed(5)} == {"medium", "hard"}
    assert {TAB.bins[i] for i in make(TAB, CurriculumConfig(drop=("easy",))).allowed(0)} == {
        "medium",
        "hard",
        "unsolved",
    }

import pytest

from medzero.errors import ConfigError, DataError
from medzero.evaluate.benchmarks import (
    BENCHMARKS,
    SEED_BENCHMARKS,
    get_benchmark,
    load_benchmark,
)
from medzero.evaluate.exclusions import Exclusions
from medzero.evaluate.scoring import question_key


def test_registry_has_the_seed_six_and_suggests_names():
    assert set(SEED_BENCHMARKS) <= set(BENCHMARKS.names())
    with pytest.raises(ConfigError, match='Did you mean "medqa"'):
        get_benchmark("medqaa")


def test_missing_file_error_says_where_it_looked(tmp_path):
    with pytest.raises(DataError, match=r"medxpertqa/text_test\.jsonl"):
        load_benchmark(get_benchmark("medxpertqa"), tmp_path)


def test_file_benchmark_loads_any_file_and_limit_is_a_prefix(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text(
        "".join(
            f'{{"id": "q{i}", "source": "mine", "question": "Q{i}?", "options": {{"A": "a", "B": "b"}}, '
            f'"answer": "A"}}\n'
            for i in range(5)
        )
    )
    bench = get_benchmark(f"file:{path}")
    full = load_benchmark(bench)
    assert [q.id for q in full.records] == [f"q{i}" for i in range(5)]
    ex = Exclusions("x", anywhere=frozenset({"q1"}))
    part = load_benchmark(bench, limit=2, exclude=ex)
    assert [q.id for q in part.records] == ["q0", "q2"] and part.excluded == 1


def test_the_six_benchmarks_load_from_shared_data(shared_data):
    sizes = {}
    for name in SEED_BENCHMARKS:
        lb = load_benchmark(get_benchmark(name), shared_data)
        assert lb.skipped == 0
        sizes[name] = len(lb.records)
    assert sizes == {
        "medmcqa": 4183,
        "medqa": 1273,
        "pubmedqa": 1000,
        "mmlu_pro_med": 1535,
        "gpqa_med": 390,
        "medxpertqa": 2450,
    }
    gpqa = load_benchmark(get_benchmark("gpqa_med"), shared_data).records
    assert len({question_key(q) for q in gpqa}) == 78  # 390 rows = 78 questions x 5
    pubmed = load_benchmark(get_benchmark("pubmedqa"), shared_data).records
    assert sum(bool(q.meta.get("official_test")) for q in pubmed) == 500


def test_eval_data_at_the_top_of_data_dir_is_accepted(shared_data, tmp_path):
    (tmp_path / "eval_data.json").symlink_to(shared_data / "huatuogpt_o1" / "eval_data.json")
    lb = load_benchmark(get_benchmark("gpqa_med"), tmp_path, limit=3)
    assert lb.path.parent == tmp_path and len(lb.records) == 3


def test_a_file_whose_records_were_all_skipped_names_the_file_and_why(tmp_path):
    path = tmp_path / "bad.jsonl"
    # both answers name no option: the loader skips both, so nothing is left to evaluate
    path.write_text(
        '{"id": "q0", "source": "mine", "question": "Q?", "options": {"A": "a", "B": "b"}, "answer": "F"}\n'
        '{"id": "q1", "source": "mine", "question": "Q?", "options": {"A": "a", "B": "b"}, "answer": "F"}\n'
    )
    with pytest.raises(DataError) as info:
        load_benchmark(get_benchmark(f"file:{path}"))
    msg = str(info.value)
    assert msg.startswith(str(path)) and "all 2 records were skipped" in msg and "bad.jsonl:1" in msg
    assert "None" not in msg


def test_a_registered_benchmark_with_no_record_of_its_source_says_so(tmp_path):
    (tmp_path / "eval_data.json").write_text(
        '{"MedQA_USLME_test": [{"question": "Q?", "options": {"A": "a", "B": "b"}, "answer_idx": "A", '
        '"answer": "a"}]}'
    )
    with pytest.raises(DataError, match='none of the 1 loaded records has source "gpqa"'):
        load_benchmark(get_benchmark("gpqa_med"), tmp_path)

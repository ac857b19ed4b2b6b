"""bench/tasks.py: the battery's data files and its results table (the runs themselves take minutes)."""

import json


def test_task_files_keep_validation_and_heldout_apart_from_training(tmp_path, load_bench):
    bt = load_bench("tasks")
    train, held, val = bt.write_task_data("term-prefix", 1, 64, 32, tmp_path)
    rows = {p.name: [json.loads(x) for x in p.read_text().splitlines()] for p in (train, held, val)}
    assert [len(rows[n]) for n in ("train.jsonl", "heldout.jsonl", "validation.jsonl")] == [64, 32, 100]
    assert len(rows["train.jsonl"][0]["options"]) == bt.N_OPTIONS["term-prefix"] == 8
    train_q = {r["question"] for r in rows["train.jsonl"]}
    assert not train_q & {r["question"] for r in rows["validation.jsonl"]}
    assert not {r["meta"]["item"] for r in rows["train.jsonl"]} & {
        r["meta"]["item"] for r in rows["heldout.jsonl"]
    }


def test_table_reports_every_seed_the_range_and_the_goal(load_bench):
    bt = load_bench("tasks")

    def row(seed, ckpt, est):
        return {"task": "drug-suffix", "seed": seed, "checkpoint": ckpt,
                "strict": {"estimate": est, "low": est - 0.05, "high": min(1.0, est + 0.05)}}  # fmt: skip

    md = bt.table([row(0, "final", 0.95), row(1, "final", 0.5), row(0, "warmup", 0.25)])
    lines = md.splitlines()
    assert lines[2].startswith("| drug-suffix | 4 | warmup |")
    assert "s0: 0.950 (0.90-1.00); s1: 0.500 (0.45-0.55)" in lines[3] and lines[3].endswith(
        "| 0.500-0.950 | 1/2 |"
    )


def test_warmups_of_an_earlier_battery_are_reused_only_where_they_exist(tmp_path, load_bench):
    bt = load_bench("tasks")
    warm = tmp_path / "runs" / "lab-threshold-s1" / "warmup"
    warm.mkdir(parents=True)
    (warm / "config.json").write_text("{}")
    assert bt.reused_warmup(tmp_path, "lab-threshold-s1") == warm
    assert bt.reused_warmup(tmp_path, "lab-threshold-s2") is None
    assert bt.reused_warmup(None, "lab-threshold-s1") is None

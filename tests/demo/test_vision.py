"""`medzero demo --task vision`: the pipeline end to end in its quick form (a pipeline check;
learning is not expected in 2 steps), and the VLM format warm-up."""

from __future__ import annotations

import json

import pytest

from medzero.cli import main


def test_bad_task_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--task", "audio", "--out", str(tmp_path / "d")])
    assert exc.value.code == 2 and "--task must be" in capsys.readouterr().err


@pytest.mark.slow
def test_quick_vision_demo_writes_the_contract(tmp_path, capsys):
    out = tmp_path / "demo"
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--task", "vision", "--quick", "--out", str(out)])
    assert exc.value.code in (0, None)
    demo = json.loads((out / "demo.json").read_text())
    held = demo["heldout"]
    assert set(held) >= {"before", "after"} and all(0.0 <= held[k] <= 1.0 for k in ("before", "after"))
    assert demo["grpo"] == {"status": "finished", "steps": 2} and held["n"] == 8
    assert (out / "run" / "final" / "processor_config.json").is_file()
    items = [json.loads(x) for x in (out / "eval" / "after" / "items.jsonl").read_text().splitlines()]
    assert len(items) == 8 and not any(it.get("error") for it in items)

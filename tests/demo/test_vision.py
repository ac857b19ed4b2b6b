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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--task", "vision", "--scan-task", "color"], 'unknown scan task "color"'),
        (["--scan-task", "region"], "--scan-task is for --task vision"),
    ],
)
def test_bad_scan_task_is_refused(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        main(["demo", *args, "--out", str(tmp_path / "d")])
    assert exc.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


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
    gain = demo["gain"]
    assert gain["n"] == 8 and gain["low"] <= gain["estimate"] <= gain["high"]
    assert abs(gain["estimate"] - (held["after"] - held["before"])) < 1e-9
    assert "paired" in (out / "compare.md").read_text()


def test_format_warmup_trains_the_text_tower_only(tiny_vlm_dir, tmp_path):
    """Random letters say nothing about the picture: the warm-up must leave the vision tower and
    the projector as built (training them on random letters washed the picture out)."""
    import torch
    from transformers import AutoModelForImageTextToText

    from medzero.data.synthetic_scans import write_scans
    from medzero.demo.vision import vision_format_warmup

    qs = write_scans(tmp_path / "scans", 4, seed=0)
    out = vision_format_warmup(tiny_vlm_dir, qs, tmp_path / "warm", steps=2, batch_size=2)
    before = AutoModelForImageTextToText.from_pretrained(tiny_vlm_dir).state_dict()
    after = AutoModelForImageTextToText.from_pretrained(out).state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    image_side = {k for k in before if "vision_tower" in k or "multi_modal_projector" in k}
    assert image_side and changed and not changed & image_side

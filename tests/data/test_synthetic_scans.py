"""Synthetic scans: one question text per task, balanced answers, and an answer that is in the
picture (the lesion's colour, or the quadrant of the bright lesion)."""

from __future__ import annotations

import pytest
from PIL import Image

from medzero.data.synthetic_scans import COLOURS, SCAN_TASKS, write_scans
from medzero.errors import ConfigError


@pytest.mark.parametrize("task", ["colour", "region"])
def test_scans_share_their_text_and_differ_by_picture(tmp_path, task):
    mcqs = write_scans(tmp_path, 8, seed=1, task=task)
    assert {m.question for m in mcqs} == {SCAN_TASKS.get(task).question}
    assert len({tuple(m.options.values()) for m in mcqs}) == 1
    assert sorted(m.answer for m in mcqs) == list("AABBCCDD") and all(m.meta["task"] == task for m in mcqs)
    from medzero.data.loaders import load_mcqs

    res = load_mcqs(tmp_path / "scans.jsonl")
    assert not res.errors and [m.images for m in res.records] == [m.images for m in mcqs]


def _lesion_pixels(path):
    """Pixels of the lesion: the background is grey noise below 61, the lesion is not."""
    with Image.open(path) as img:
        px = list(img.convert("RGB").getdata())
    return [p for p in px if max(p) > 60]


def test_colour_scans_paint_the_answer_colour(tmp_path):
    for m in write_scans(tmp_path, 16, seed=2, task="colour"):
        lesion = _lesion_pixels(m.images[0])
        assert len(lesion) >= 9
        mean = [sum(p[c] for p in lesion) / len(lesion) for c in range(3)]
        nearest = min(COLOURS, key=lambda k: sum((a - b) ** 2 for a, b in zip(mean, COLOURS[k], strict=True)))
        assert nearest == m.answer


def test_region_scans_put_the_lesion_in_the_answer_quadrant(tmp_path):
    for m in write_scans(tmp_path, 8, seed=3, size=32, task="region"):
        with Image.open(m.images[0]) as img:
            px = img.convert("L").load()
        bright = [(x, y) for x in range(32) for y in range(32) if px[x, y] > 60]
        quadrants = {"AB"[x >= 16] if y < 16 else "CD"[x >= 16] for x, y in bright}
        assert quadrants == {m.answer}


def test_unknown_task_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r'unknown scan task "color".*Did you mean "colour"'):
        write_scans(tmp_path, 4, task="color")

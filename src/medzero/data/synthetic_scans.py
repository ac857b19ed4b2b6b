"""Synthetic "scans": image questions whose answer can be read only from the picture.

Each scan is a noisy dark square with one round lesion. A *scan task* decides what the answer
is (:data:`SCAN_TASKS`):

* ``colour`` (the vision demo's task) — the lesion is red, green, blue or yellow (each channel
  jittered), anywhere in the scan and of varying size: every patch the lesion covers carries the
  answer, so a randomly initialised vision tower picks it up within tens of examples;
* ``region`` — a bright lesion in one of four quadrants: the answer is the lesion's *position*,
  which the tiny VLM learns only after about a thousand labelled examples and not at all from
  GRPO's reward in 200 steps (docs/multimodal.md, "The vision demo").

The question text and the options are the same for every scan of a task, so a model that ignores
the pixels is at chance (25%). Files are written as a ``medzero`` JSONL file (``images`` relative
to it) beside a ``scans/`` folder of PNGs, i.e. the layout :mod:`medzero.data.images` reads.

>>> mcqs = write_scans("/tmp/scans", 8, seed=0)                      # doctest: +SKIP
>>> mcqs[0].question                                                   # doctest: +SKIP
'What colour is the lesion in this scan?'
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medzero.data.schema import MCQ
from medzero.registry import Registry

SCANS_FILE = "scans.jsonl"
SCANS_DIR = "scans"
DEFAULT_TASK = "colour"
#: Lesion colours of the ``colour`` task (RGB centres; each channel is jittered by +-25).
COLOURS = {"A": (225, 45, 45), "B": (45, 215, 45), "C": (55, 55, 235), "D": (225, 225, 45)}


@dataclass(frozen=True)
class ScanTask:
    """One kind of synthetic scan: the question asked of every scan, the options (letter ->
    text) and ``draw(letter, rng, size)``, a ``PIL.Image`` (RGB) whose answer is ``letter``."""

    question: str
    options: dict[str, str]
    draw: Callable[[str, random.Random, int], Any]


def _background(rng: random.Random, size: int) -> Any:
    from PIL import Image

    img = Image.new("L", (size, size))
    img.putdata([rng.randint(0, 60) for _ in range(size * size)])
    return img.convert("RGB")


def draw_region(letter: str, rng: random.Random, size: int = 32) -> Any:
    """A bright grey lesion in region ``letter`` (A upper left .. D lower right), jittered in
    place and size."""
    from PIL import ImageDraw

    img = _background(rng, size)
    half = size // 2
    col, row = "ABCD".index(letter) % 2, "ABCD".index(letter) // 2
    radius = rng.randint(size // 10, size // 6)
    cx = col * half + rng.randint(radius + 1, half - radius - 1)
    cy = row * half + rng.randint(radius + 1, half - radius - 1)
    v = rng.randint(200, 255)
    ImageDraw.Draw(img).ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=(v, v, v))
    return img


def draw_colour(letter: str, rng: random.Random, size: int = 32) -> Any:
    """A lesion of colour ``letter`` (:data:`COLOURS`, jittered), anywhere, of varying size."""
    from PIL import ImageDraw

    img = _background(rng, size)
    radius = rng.randint(size // 8, size // 5)
    cx, cy = rng.randint(radius + 1, size - radius - 2), rng.randint(radius + 1, size - radius - 2)
    fill = tuple(min(255, max(0, c + rng.randint(-25, 25))) for c in COLOURS[letter])
    ImageDraw.Draw(img).ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=fill)
    return img


SCAN_TASKS: Registry[ScanTask] = Registry("scan task")
SCAN_TASKS.register(
    "colour",
    ScanTask(
        "What colour is the lesion in this scan?",
        {"A": "red", "B": "green", "C": "blue", "D": "yellow"},
        draw_colour,
    ),
)
SCAN_TASKS.register(
    "region",
    ScanTask(
        "In which region of this scan is the bright lesion?",
        {"A": "upper left", "B": "upper right", "C": "lower left", "D": "lower right"},
        draw_region,
    ),
)


def write_scans(
    out_dir: str | Path,
    n: int,
    seed: int = 0,
    size: int = 32,
    prefix: str = "scan",
    task: str = DEFAULT_TASK,
) -> list[MCQ]:
    """Write ``n`` scans of ``task`` (answers balanced over the four letters, seeded) and their
    questions to ``out_dir/scans.jsonl``; return the questions (image paths absolute)."""
    kind = SCAN_TASKS.get(task)
    out = Path(out_dir)
    (out / SCANS_DIR).mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    letters = [list(kind.options)[i % 4] for i in range(n)]
    rng.shuffle(letters)
    mcqs, lines = [], []
    for i, letter in enumerate(letters):
        name = f"{SCANS_DIR}/{prefix}-{i}.png"
        kind.draw(letter, rng, size).save(out / name)
        mcq = MCQ(
            id=f"{prefix}-{i}",
            source="synthetic_scans",
            question=kind.question,
            options=dict(kind.options),
            answer=letter,
            meta={"seed": seed, "task": task},
            images=[str((out / name).absolute())],
        )
        mcqs.append(mcq)
        lines.append(json.dumps({**mcq.to_dict(), "images": [name]}))
    (out / SCANS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return mcqs

"""Synthetic "scans": image questions whose answer can be read only from the picture.

Each scan is a noisy dark square with one bright round lesion in one of four regions; the
question text and the options are the same for every scan, so a model that ignores the pixels
is at chance (25%). Files are written as a ``medzero`` JSONL file (``images`` relative to it)
beside a ``scans/`` folder of PNGs, i.e. the layout :mod:`medzero.data.images` reads.

>>> mcqs = write_scans("/tmp/scans", 8, seed=0)                      # doctest: +SKIP
>>> mcqs[0].question                                                   # doctest: +SKIP
'In which region of this scan is the bright lesion?'
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from medzero.data.schema import MCQ

QUESTION = "In which region of this scan is the bright lesion?"
REGIONS = {"A": "upper left", "B": "upper right", "C": "lower left", "D": "lower right"}
SCANS_FILE = "scans.jsonl"
SCANS_DIR = "scans"


def draw_scan(letter: str, rng: random.Random, size: int = 32):
    """One scan (``PIL.Image``, RGB) with the lesion in region ``letter``, jittered in place and size."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (size, size))
    img.putdata([rng.randint(0, 60) for _ in range(size * size)])
    half = size // 2
    col, row = "ABCD".index(letter) % 2, "ABCD".index(letter) // 2
    radius = rng.randint(size // 10, size // 6)
    cx = col * half + rng.randint(radius + 1, half - radius - 1)
    cy = row * half + rng.randint(radius + 1, half - radius - 1)
    ImageDraw.Draw(img).ellipse(
        (cx - radius, cy - radius, cx + radius, cy + radius), fill=rng.randint(200, 255)
    )
    return img.convert("RGB")


def write_scans(
    out_dir: str | Path, n: int, seed: int = 0, size: int = 32, prefix: str = "scan"
) -> list[MCQ]:
    """Write ``n`` scans (answers balanced over the four regions, seeded) and their questions to
    ``out_dir/scans.jsonl``; return the questions (image paths absolute)."""
    out = Path(out_dir)
    (out / SCANS_DIR).mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    letters = [list(REGIONS)[i % 4] for i in range(n)]
    rng.shuffle(letters)
    mcqs, lines = [], []
    for i, letter in enumerate(letters):
        name = f"{SCANS_DIR}/{prefix}-{i}.png"
        draw_scan(letter, rng, size).save(out / name)
        mcq = MCQ(
            id=f"{prefix}-{i}",
            source="synthetic_scans",
            question=QUESTION,
            options=dict(REGIONS),
            answer=letter,
            meta={"seed": seed},
            images=[str((out / name).absolute())],
        )
        mcqs.append(mcq)
        lines.append(json.dumps({**mcq.to_dict(), "images": [name]}))
    (out / SCANS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return mcqs

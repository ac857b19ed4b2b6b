"""Stages import only the stages below them (docs: ARCHITECTURE, ``medzero/__init__.py``).

Every ``import medzero.X`` of every module counts, lazy ones inside functions included: a lazy
import still ties the stages together. Loose top-level modules (errors, console, jsonl, outdir,
registry, sections, yamlsafe) sit below every stage and import no stage."""

from __future__ import annotations

import ast
from pathlib import Path

import medzero

SRC = Path(medzero.__file__).parent

#: Bottom to top; a stage may import the stages before it in this list, never those after it.
#: Stages on one line may not import each other.
LAYERS: list[tuple[str, ...]] = [
    ("extract",),
    ("data",),
    ("models", "tools"),
    ("rewards",),
    ("evaluate",),
    ("curriculum",),
    ("train", "analyze"),
    ("demo",),
]
RANK = {stage: i for i, names in enumerate(LAYERS) for stage in names}


def _imported_stages(path: Path) -> set[tuple[str, int]]:
    """``(stage, line)`` of each medzero stage ``path`` imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] if node.module != "medzero" else [f"medzero.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "medzero" and len(parts) > 1:
                found.add((parts[1], node.lineno))
    return found


def test_stages_import_only_the_stages_below_them():
    assert {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()} == set(RANK)
    upward = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        if rel.parts[0] == "cli.py":  # the command line loads every stage's cli
            continue
        mine = rel.parts[0] if len(rel.parts) > 1 else None  # None: a loose module (the bottom)
        for stage, line in sorted(_imported_stages(path)):
            if stage == mine or stage not in RANK:
                continue
            if mine is None or RANK[stage] >= RANK[mine]:
                upward.append(f"{rel}:{line}: {mine or 'loose module'} imports {stage}")
    assert not upward, "imports against the layering (move what both need lower):\n" + "\n".join(upward)

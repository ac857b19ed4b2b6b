"""The ``README.md`` model card written into ``RUN_DIR`` (at checkpoints), ``final/`` and ``best/``.

TRL's own card names the base model only when ``config._name_or_path`` is a hub id; a local
folder (the tiny model, a format warm-up, a downloaded checkpoint) gave "a fine-tuned version of
[None](https://huggingface.co/None)". medzero knows what the recipe named, so it writes the card.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from medzero import __version__


@dataclass
class CardInfo:
    """What the card says about the run."""

    base_model: str = field(
        metadata={"help": "The recipe's model.name_or_path (tiny, a hub id or a folder)."}
    )
    recipe: str | None = field(default=None, metadata={"help": "The recipe file."})
    warmup: bool = field(default=False, metadata={"help": "A format warm-up ran before GRPO."})
    lora: bool = field(default=False, metadata={"help": "The folder holds a LoRA adapter."})
    versions: dict[str, str] = field(default_factory=dict, metadata={"help": "Library versions."})


def is_hub_id(name: str) -> bool:
    """``org/name`` that is not an existing local path."""
    return (
        name.count("/") == 1 and not Path(name).expanduser().exists() and not name.startswith((".", "/", "~"))
    )


def describe_base(name: str) -> str:
    """Markdown naming the base model."""
    if name == "tiny":
        return "medzero's tiny local model (built from a config by `medzero model tiny`; it has no hub page)"
    if is_hub_id(name):
        return f"[{name}](https://huggingface.co/{name})"
    return f"the local model `{name}`"


def model_card(info: CardInfo, title: str, details: list[str] | None = None) -> str:
    """The card's Markdown text, with YAML front matter (``base_model`` only for a hub id)."""
    meta: dict[str, Any] = {
        "library_name": "peft" if info.lora else "transformers",
        "tags": ["medzero", "grpo", "trl"],
    }
    if is_hub_id(info.base_model):
        meta["base_model"] = info.base_model
    how = "GRPO (TRL's `GRPOTrainer`) with verifiable rewards"
    if info.warmup:
        how = "a short supervised format warm-up, then " + how
    lines = [
        "---",
        yaml.safe_dump(meta, sort_keys=False).strip(),
        "---",
        "",
        f"# {title}",
        "",
        f"This model is a fine-tuned version of {describe_base(info.base_model)}, trained with {how} "
        f"by medzero {__version__}"
        + (" (a LoRA adapter: load it on top of the base model)." if info.lora else "."),
        "",
    ]
    if info.recipe:
        lines += [f"- recipe: `{info.recipe}` (resolved copy: `config.yaml` in the run directory)"]
    lines += [f"- {d}" for d in details or []]
    if info.versions:
        lines += ["", "## Framework versions", ""]
        lines += [f"- {k}: {v}" for k, v in info.versions.items()]
    return "\n".join(lines) + "\n"


def write_model_card(
    folder: str | Path, info: CardInfo, title: str, details: list[str] | None = None
) -> Path:
    path = Path(folder) / "README.md"
    path.write_text(model_card(info, title, details), encoding="utf-8")
    return path

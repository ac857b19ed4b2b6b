"""Model names that are local paths: told apart from hub ids, and checked before anything loads."""

from __future__ import annotations

from pathlib import Path

from medzero.errors import ConfigError


def looks_local(name: str) -> bool:
    """A path, not a hub id (``org/name``): absolute, ``./``, ``../``, ``~`` or several folders deep."""
    return name.startswith(("/", ".", "~")) or name.count("/") >= 2 or "\\" in name


def check_local_model(name: str, what: str) -> None:
    """A :class:`ConfigError` naming ``what`` (e.g. ``--model``) when ``name`` is a local path
    that is not a folder; hub ids pass (they are resolved, offline or not, when loaded)."""
    path = Path(name).expanduser()
    if (looks_local(name) or path.exists()) and not path.is_dir():
        why = "is a file, not a model folder" if path.exists() else "no such folder"
        raise ConfigError(f"{what} {name}: {why}")

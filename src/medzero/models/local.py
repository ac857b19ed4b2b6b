"""Model names that are local paths: told apart from hub ids, and checked before anything loads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from medzero.console import quiet_library_progress
from medzero.errors import ConfigError


def looks_local(name: str) -> bool:
    """A path, not a hub id (``org/name``): absolute, ``./``, ``../``, ``~`` or several folders deep."""
    return name.startswith(("/", ".", "~")) or name.count("/") >= 2 or "\\" in name


def check_local_model(name: str, what: str, marker: str = "config.json") -> None:
    """A :class:`ConfigError` naming ``what`` (e.g. ``--model``) when ``name`` is a local path
    that is not a model folder (no ``marker`` file: ``config.json``, or ``adapter_config.json``
    for an adapter); hub ids pass (they are resolved, offline or not, when loaded)."""
    path = Path(name).expanduser()
    if not (looks_local(name) or path.exists()):
        return
    if path.is_file() and path.suffix.lower() == ".gguf":  # converted when loaded
        return
    if not path.is_dir():
        why = "is a file, not a model folder" if path.exists() else "no such folder"
        raise ConfigError(f"{what} {name}: {why}")
    if not (path / marker).is_file():
        raise ConfigError(f"{what} {name}: not a saved model folder (no {marker})")


@contextmanager
def loading(what: str, name: str) -> Iterator[None]:
    """Turn the errors of ``from_pretrained`` on a broken or foreign folder (no tokenizer files,
    an unknown ``model_type``, missing weights) into a :class:`ConfigError` naming ``what``.
    Also switches off the libraries' loading bars when medzero's progress is off."""
    quiet_library_progress()
    try:
        yield
    except (OSError, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{what} {name}: cannot be loaded ({first})") from None

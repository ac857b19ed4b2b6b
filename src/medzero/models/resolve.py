"""The one function that turns the model a recipe, ``eval`` or ``data grade`` names into something
``from_pretrained`` loads (light to import: builders load torch only when they run)."""

from __future__ import annotations

from pathlib import Path

from medzero.errors import ConfigError

#: ``gguf_file`` value naming the Gemma 3 270M GGUF installed by the ``gguf`` extra.
PACKAGED = "packaged"


def resolve_model(name_or_path: str = "", gguf_file: str | None = None) -> str:
    """A local folder or hub id for ``name_or_path`` / ``gguf_file``.

    * ``tiny`` -> the locally built tiny model (built on first use, cached);
    * ``gguf_file`` ``packaged`` -> the packaged Gemma 3 270M, converted once (cached by sha256);
    * ``gguf_file`` a path (relative to ``name_or_path`` when that is a folder), or
      ``name_or_path`` a ``.gguf`` file -> that file, converted once (cached by sha256);
    * anything else as given (a local folder or a hub id).
    """
    if gguf_file:
        from medzero.models.gguf import ensure_converted

        if gguf_file == PACKAGED:
            return str(ensure_converted(None))
        path = Path(gguf_file).expanduser()
        if not path.is_absolute() and name_or_path and Path(name_or_path).is_dir():
            path = Path(name_or_path) / path
        return str(ensure_converted(path))
    if not name_or_path:
        raise ConfigError("no model given: name a model folder, hub id, 'tiny' or a GGUF file")
    if name_or_path == "tiny":
        from medzero.models.tiny import ensure_tiny_model

        return str(ensure_tiny_model())
    if name_or_path.endswith(".gguf") and Path(name_or_path).expanduser().is_file():
        from medzero.models.gguf import ensure_converted

        return str(ensure_converted(name_or_path))
    return name_or_path

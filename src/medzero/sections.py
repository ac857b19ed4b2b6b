"""Typed config sections from YAML mappings, with errors that name the file, line and key.

A recipe section (``model:``, ``data.prompt:``, ``tools.search:`` ...) is a dataclass; :func:`build`
makes one from the mapping read by :mod:`medzero.yamlsafe`, refusing unknown keys (with the
nearest valid name) and values of the wrong simple type. :class:`Where` carries the file name
and the YAML line of each dotted key, so every message reads ``recipe.yaml:12: ...``.

Used by the training recipe (:mod:`medzero.train.recipe`) and by the readers of a training run's
``config.yaml`` below it (``medzero eval --run``), so both read a section the same way.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from medzero.errors import ConfigError
from medzero.registry import did_you_mean


class Where:
    """Where we are: the file and the YAML line of each dotted key, for error messages.

    ``texts``: ``--set`` values as typed, by dotted key (a string field keeps the text, so
    ``--set model.revision=20240101`` stays ``"20240101"``)."""

    def __init__(self, source: str, lines: dict[str, int] | None = None, texts: dict[str, str] | None = None):
        self.source, self.lines, self.texts = source, lines or {}, texts or {}

    def where(self, key: str) -> str:
        """``file:line`` of ``key`` (the file alone when the line is unknown)."""
        line = self.lines.get(key)
        return f"{self.source}:{line}" if line else self.source

    def unknown(self, key: str, known: list[str], hint: str = "") -> typing.NoReturn:
        raise ConfigError(f'{self.where(key)}: unknown key "{key}"{hint}.{did_you_mean(key, known)}')


def mapping(value: Any, key: str, at: Where) -> dict[str, Any]:
    """``value`` when it is a mapping, ``{}`` for ``None``; else an error naming ``key``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f'{at.where(key)}: "{key}" must be a mapping, got {type(value).__name__}')
    return value


def build(cls: type, value: Any, prefix: str, at: Where) -> Any:
    """The dataclass ``cls`` from the mapping ``value`` found at ``prefix`` (unknown keys and
    wrong simple types are errors; fields not given keep their defaults)."""
    raw = mapping(value, prefix, at)
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kw = {}
    for key, val in raw.items():
        if key not in names:
            at.unknown(f"{prefix}.{key}", [f"{prefix}.{n}" for n in names])
        kw[key] = coerce(val, hints[key], f"{prefix}.{key}", at)
    return cls(**kw)


def coerce_scalar(value: Any) -> Any:
    """YAML 1.1 reads ``1e-5`` as a string; turn number-looking strings into numbers."""
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
        try:
            return float(value)
        except ValueError:
            return value
    return value


def coerce(value: Any, tp: Any, key: str, at: Where) -> Any:
    """Check ``value`` against the annotation ``tp`` for the simple cases (bool, int, float, str)."""
    if value is None:
        return None
    args = typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, types.UnionType) else (tp,)
    if isinstance(value, list) and list[str] in args:
        bad = [v for v in value if not isinstance(v, str)]
        if bad:
            raise ConfigError(f'{at.where(key)}: "{key}" must be a list of names, got the item {bad[0]!r}')
        return value
    if any(a is Any or typing.get_origin(a) in (list, dict) or a in (list, dict) for a in args):
        return value
    if str in args and isinstance(value, str):
        return value
    if str in args and int not in args and float not in args and not isinstance(value, bool):
        if key in at.texts:  # --set model.revision=20240101: the text as typed
            return at.texts[key]
        if isinstance(value, int):  # revision: 20240101 in a file
            return str(value)
    value = coerce_scalar(value)
    for a in args:
        if a is bool and isinstance(value, bool):
            return value
        if a is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if a is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if a is str and isinstance(value, str):
            return value
    if not any(a in (bool, int, float, str) for a in args):  # enums, dataclasses ...: let TRL validate
        return value
    expected = " or ".join(getattr(a, "__name__", str(a)) for a in args if a is not type(None))
    raise ConfigError(f'{at.where(key)}: "{key}" must be {expected}, got {value!r}')

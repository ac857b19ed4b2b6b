"""One small by-name registry used for rewards, benchmarks, loaders and prompt templates.

>>> r = Registry("reward")
>>> @r.register("accuracy")
... def acc(): return 1
>>> r.get("acuracy")
Traceback (most recent call last):
...
medzero.errors.ConfigError: unknown reward "acuracy". Did you mean "accuracy"? Available: accuracy
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from medzero.errors import ConfigError

T = TypeVar("T")


def did_you_mean(name: str, choices: list[str] | tuple[str, ...]) -> str:
    """Return ``' Did you mean "x"?'`` for the closest choice, or ``""`` when none is close."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f' Did you mean "{close[0]}"?' if close else ""


class Registry(Generic[T]):
    """Name -> object map with a ``register`` decorator, lazy ``"module:attr"`` entries and
    helpful errors for unknown names. Registering a name twice is an error."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T | str] = {}

    def register(self, name: str, obj: T | str | None = None) -> Callable[[T], T] | T | str:
        if name in self._items:
            raise ValueError(f'{self.kind} "{name}" is already registered')
        if obj is not None:
            self._items[name] = obj
            return obj

        def deco(o: T) -> T:
            self._items[name] = o
            return o

        return deco

    def get(self, name: str) -> T:
        if name not in self._items:
            raise ConfigError(
                f'unknown {self.kind} "{name}".{did_you_mean(name, self.names())} '
                f"Available: {', '.join(self.names())}"
            )
        obj = self._items[name]
        if isinstance(obj, str) and ":" in obj:  # lazy "module:attr" entry
            mod, attr = obj.split(":", 1)
            obj = getattr(importlib.import_module(mod), attr)
            self._items[name] = obj
        return obj  # type: ignore[return-value]

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def items(self) -> list[tuple[str, Any]]:
        return [(n, self.get(n)) for n in self.names()]

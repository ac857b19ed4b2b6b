"""Strict YAML for user files (recipes, ``--set`` values, mixes): safe, plain data, no surprises.

On top of ``yaml.SafeLoader`` (which never runs code) this loader refuses:

* **aliases and anchors** (``&x`` / ``*x``): a chain of aliases expands to gigabytes (the
  "billion laughs" bomb) when the data is copied or dumped; recipes never need them;
* **duplicate keys** in one mapping: YAML keeps the last one silently;
* **tags** such as ``!!python/object/apply`` (SafeLoader refuses them too, but with a traceback
  the user cannot read).

Every refusal is a :class:`~medzero.errors.ConfigError` naming the file and the line, and
undecodable bytes say that the file is not UTF-8.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from medzero.errors import ConfigError


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader without aliases and without duplicate mapping keys."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(
                None, None, f"alias *{event.anchor} is not allowed (anchors/aliases are refused)",
                event.start_mark,
            )  # fmt: skip
        event = self.peek_event()
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise yaml.MarkedYAMLError(
                None, None, f"anchor &{anchor} is not allowed (anchors/aliases are refused)", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                dup = key in seen
            except TypeError:  # an unhashable key: SafeLoader reports it
                break
            if dup:
                raise yaml.MarkedYAMLError(
                    None,
                    None,
                    f'duplicate key "{key}" (YAML would keep only the last one)',
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _StrictLoader.construct_mapping)


def loads(text: str, where: str, lines: bool = True) -> Any:
    """Parse ``text`` strictly; errors name ``where`` and (``lines``) the 1-based line."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: never runs code
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = f"{where}:{mark.line + 1}" if mark is not None and lines else where
        problem = exc.problem or str(exc)
        if isinstance(exc, yaml.constructor.ConstructorError) and "constructor for the tag" in problem:
            tag = problem.split("tag", 1)[1].strip(" '").replace("tag:yaml.org,2002:", "!!")
            problem = f"tag {tag} is not allowed (plain YAML data only)"
        raise ConfigError(f"{loc}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: invalid YAML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{where}: invalid YAML: nested too deeply") from None


def read_text(path: str | Path) -> str:
    """The text of a user's YAML file; a missing, unreadable or non-UTF-8 file is a ConfigError."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, expected a YAML file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save it as UTF-8"
        ) from None


def load(path: str | Path) -> Any:
    """Read and strictly parse a YAML file."""
    return loads(read_text(path), str(path))


def key_lines(text: str) -> dict[str, int]:
    """Dotted key -> 1-based line number in the YAML text (best effort; {} on odd YAML)."""
    out: dict[str, int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)  # nodes only: aliases are not expanded
    except (yaml.YAMLError, RecursionError):
        return out

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = f"{prefix}{k.value}"
                out.setdefault(key, k.start_mark.line + 1)
                walk(v, key + ".")

    walk(root, "")
    return out

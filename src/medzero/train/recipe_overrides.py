"""``--set KEY=VALUE`` overrides of a training recipe, applied to the raw YAML mapping before it is
validated (:func:`medzero.train.recipe.load_recipe`). Values are parsed as YAML (``--set
grpo.bf16=false`` gives a bool, ``=1e-5`` a float); a ``--set data.<source>=...`` replaces the
file's data source."""

from __future__ import annotations

from typing import Any

from medzero import yamlsafe
from medzero.errors import ConfigError
from medzero.sections import coerce_scalar


def parse_override(text: str) -> tuple[str, Any]:
    """``"grpo.learning_rate=1e-5"`` -> ``("grpo.learning_rate", 1e-05)`` (value parsed as YAML)."""
    if "=" not in text:
        raise ConfigError(f'--set "{text}": expected KEY=VALUE, e.g. grpo.learning_rate=1e-5')
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f'--set "{text}": empty key part')
    if raw.strip().lower() in _YAML11_WORDS:  # only true/false are booleans on the command line
        return key, raw.strip()
    value = yamlsafe.loads(raw, f'--set "{text}"', lines=False) if raw.strip() else None
    return key, coerce_scalar(value)


#: Words YAML 1.1 reads as booleans; in ``--set`` they stay strings (``guard.action=off``,
#: ``grpo.save_strategy=no``) so that choices spelled like them are not turned into ``False``.
_YAML11_WORDS = frozenset({"yes", "no", "on", "off", "y", "n"})


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, str]:
    """Apply dotted ``--set`` overrides to the raw recipe mapping (in place).

    Returns ``{dotted key: value text}``: a string field keeps the text as typed
    (``--set model.revision=20240101`` stays the string ``"20240101"``)."""
    texts: dict[str, str] = {}
    for text in overrides:
        key, value = parse_override(text)
        node = raw
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError(f'--set "{text}": "{part}" is a value, not a section')
            node = child
        node[parts[-1]] = value
        texts[key] = text.split("=", 1)[1].strip()
    return texts


DATA_SOURCES = ("prepared", "path", "synthetic", "sample")


def data_source_overrides(raw: dict[str, Any], overrides: list[str]) -> None:
    """A ``--set data.<source>=...`` replaces the recipe file's data source (``--set
    data.path=x.jsonl`` on a recipe with ``data.synthetic: 512`` trains on x.jsonl); two
    overrides naming different sources are a conflict, reported with both ``--set``s."""
    given: dict[str, str] = {}
    for text in overrides:
        key, value = parse_override(text)
        parts = key.split(".")
        if len(parts) == 2 and parts[0] == "data" and parts[1] in DATA_SOURCES:
            if value in (None, False):
                given.pop(parts[1], None)
            else:
                given[parts[1]] = text
    if len(given) > 1:
        sets = " and ".join(f'--set "{t}"' for t in given.values())
        raise ConfigError(f"{sets} name two training data sources; keep one of them")
    data = raw.get("data")
    if given and isinstance(data, dict):
        for other in DATA_SOURCES:
            if other not in given:
                data.pop(other, None)

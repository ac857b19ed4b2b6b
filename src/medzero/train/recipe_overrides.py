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
#: Sections whose keys are alternatives: a ``--set`` of one replaces the recipe file's choice.
SOURCE_GROUPS = {"data": DATA_SOURCES, "validation": ("benchmark", "holdout")}


def data_source_overrides(raw: dict[str, Any], overrides: list[str]) -> None:
    """A ``--set data.<source>=...`` replaces the recipe file's data source (``--set
    data.path=x.jsonl`` on a recipe with ``data.synthetic: 512`` trains on x.jsonl); likewise
    ``--set validation.benchmark=...`` replaces a recipe's ``validation.holdout`` and the reverse.
    Two overrides naming different sources of one section are a conflict, reported with both."""
    for section, sources in SOURCE_GROUPS.items():
        given: dict[str, str] = {}
        for text in overrides:
            key, value = parse_override(text)
            parts = key.split(".")
            if len(parts) == 2 and parts[0] == section and parts[1] in sources:
                if value in (None, False):
                    given.pop(parts[1], None)
                else:
                    given[parts[1]] = text
        if len(given) > 1:
            sets = " and ".join(f'--set "{t}"' for t in given.values())
            what = "training data sources" if section == "data" else "validation sources"
            raise ConfigError(f"{sets} name two {what}; keep one of them")
        node = raw.get(section)
        if given and isinstance(node, dict):
            for other in sources:
                if other not in given:
                    node.pop(other, None)

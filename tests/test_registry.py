import pytest

from medzero.errors import ConfigError
from medzero.registry import Registry


def test_unknown_name_suggests_nearest():
    r = Registry("reward")
    r.register("accuracy", 1)
    r.register("format", 2)
    with pytest.raises(ConfigError, match=r'Did you mean "accuracy"\? Available: accuracy, format'):
        r.get("acuracy")


def test_duplicate_registration_refused():
    r = Registry("thing")
    r.register("a", 1)
    with pytest.raises(ValueError, match="already registered"):
        r.register("a", 2)


def test_lazy_entry_is_imported_on_first_get():
    r = Registry("fn")
    r.register("dumps", "json:dumps")
    import json

    assert r.get("dumps") is json.dumps
    assert r.names() == ["dumps"]

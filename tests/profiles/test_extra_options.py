"""Admin-declared extra user_options keys: declarations checked at start-up, values checked per spawn."""

from __future__ import annotations

import pytest

from jupyterhub_saturn.errors import ConfigError, InvalidChoice
from jupyterhub_saturn.profiles.extra_options import check_extra_options, parse_extra_options


@pytest.mark.parametrize("data,path", [
    ([], "Saturn.extra_options"),
    ({"size": {"type": "str"}}, "Saturn.extra_options.size"),
    ({"team": "red"}, "Saturn.extra_options.team"),
    ({"team": {"type": "float"}}, "Saturn.extra_options.team.type"),
    ({"team": {"choice": ["a"]}}, "Saturn.extra_options.team.choice"),
    ({"n": {"type": "int", "choices": ["1"]}}, "Saturn.extra_options.n.choices"),
    ({"n": {"type": "int", "max": "8"}}, "Saturn.extra_options.n.max"),
    ({"flag": {"type": "bool", "choices": [True]}}, "Saturn.extra_options.flag.choices"),
])
def test_declaration_mistakes_name_the_key_path(data, path):
    with pytest.raises(ConfigError) as e:
        parse_extra_options(data)
    assert e.value.field == path


def test_values_are_typed_and_undeclared_keys_ignored_here():
    declared = parse_extra_options({"n": {"type": "int", "min": 1}, "flag": {"type": "bool"}, "tag": {}})
    assert check_extra_options(declared, {"n": ["3"], "flag": "off", "tag": "x", "other": 1}) == {
        "n": 3, "flag": False, "tag": "x"}
    for bad in ({"n": True}, {"n": "0"}, {"flag": 1}, {"tag": 5}):
        with pytest.raises(InvalidChoice):
            check_extra_options(declared, bad)

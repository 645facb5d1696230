"""Request and answer bodies (fleet/wirejson.py): what orjson writes, the standard library and the
emulated API servers' YAML reading understand as the same value; what orjson refuses still goes."""

from __future__ import annotations

import json
import math

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tctl_py.fleet import wirejson

# Kubernetes objects as JSON: strings, 64-bit integers, finite floats, booleans, null, nested
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=30
)


@given(values)
def test_a_body_reads_back_as_the_same_value_with_either_library(value) -> None:
    body = wirejson.dumps(value)
    assert wirejson.loads(body) == value
    assert json.loads(body) == value


@given(st.dictionaries(st.text(), st.text() | st.lists(st.text()) | st.integers(0, 65535)))
def test_a_body_is_yaml_as_the_api_server_reads_an_apply(value) -> None:
    assert yaml.safe_load(wirejson.dumps(value)) == value


@pytest.mark.parametrize("character", ["\x7f", "\x85", "\x9f", "\u2028", "\u2029", "\ufffe", "\uffff"])
def test_characters_yaml_refuses_or_reads_as_line_breaks_are_escaped(character) -> None:
    value = {"note": f"a{character}b"}
    body = wirejson.dumps(value)
    assert character.encode() not in body and yaml.safe_load(body) == value


def test_what_orjson_will_not_write_is_written_by_json() -> None:
    for value in ({"n": 2**70}, {"name": "caf\udce9"}):
        assert json.loads(wirejson.dumps(value)) == value


def test_what_orjson_will_not_read_is_read_by_json() -> None:
    assert math.isnan(wirejson.loads(b'{"a": NaN}')["a"])
    assert wirejson.loads('"\\ud800"') == "\ud800"


@pytest.mark.parametrize("text", [b"", b"{", b"<html>", b'{"a": 1,}'])
def test_what_is_not_json_is_a_value_error(text) -> None:
    with pytest.raises(ValueError):
        wirejson.loads(text)

"""Label selectors (`get -l`): what each operator matches, and that any selector reads back from
its own text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tctl_py.config.label_selector import Requirement, Selector, SelectorError, parse

NAMES = st.from_regex(r"[a-z0-9]([a-z0-9._-]{0,8}[a-z0-9])?", fullmatch=True)
PREFIXES = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)  # DNS labels
KEYS = st.one_of(NAMES, st.builds(lambda p, n: f"{p}.io/{n}", PREFIXES, NAMES))
VALUES = st.one_of(st.just(""), NAMES)
LABELS = st.dictionaries(KEYS, VALUES, max_size=4)
REQUIREMENTS = st.one_of(
    st.builds(lambda k: Requirement(k, "exists"), KEYS),
    st.builds(lambda k: Requirement(k, "!"), KEYS),
    st.builds(lambda k, op, v: Requirement(k, op, (v,)), KEYS, st.sampled_from(["=", "!="]), VALUES),
    st.builds(
        lambda k, op, vs: Requirement(k, op, tuple(vs)),
        KEYS,
        st.sampled_from(["in", "notin"]),
        st.lists(NAMES, min_size=1, max_size=3),
    ),
)
OPPOSITES = {"exists": "!", "!": "exists", "=": "!=", "!=": "=", "in": "notin", "notin": "in"}


@settings(max_examples=200, deadline=None)
@given(st.lists(REQUIREMENTS, max_size=4))
def test_a_selector_reads_back_from_its_text(requirements):
    selector = Selector(tuple(requirements))
    assert parse(str(selector)) == selector


@settings(max_examples=200, deadline=None)
@given(REQUIREMENTS, LABELS)
def test_each_operator_matches_exactly_where_its_opposite_does_not(requirement, labels):
    opposite = Requirement(requirement.key, OPPOSITES[requirement.operator], requirement.values)
    assert requirement.matches(labels) != opposite.matches(labels)


@settings(max_examples=200, deadline=None)
@given(st.lists(REQUIREMENTS, max_size=4), LABELS)
def test_a_selector_is_the_and_of_its_requirements(requirements, labels):
    selector = Selector(tuple(requirements))
    assert selector.matches(labels) == all(parse(str(r)).matches(labels) for r in requirements)


@settings(max_examples=100, deadline=None)
@given(KEYS, NAMES, LABELS)
def test_equality_is_a_set_of_one(key, value, labels):
    assert parse(f"{key}={value}").matches(labels) == parse(f"{key} in ({value})").matches(labels)
    assert parse(f"{key}=={value}") == parse(f"{key}={value}")


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("app=web", {"app": "web"}, True),
        ("app=web", {}, False),
        ("app!=web", {}, True),  # an absent label is not equal to anything
        ("app!=web", {"app": "web"}, False),
        ("env in (prod, staging)", {"env": "staging"}, True),
        ("env notin (prod)", {"tier": "db"}, True),
        ("app,!legacy", {"app": ""}, True),
        ("app,!legacy", {"app": "x", "legacy": "y"}, False),
        ("example.com/team = a , tier in (db,web)", {"example.com/team": "a", "tier": "web"}, True),
        ("", {"any": "thing"}, True),
    ],
)
def test_examples(text, labels, expected):
    assert parse(text).matches(labels) is expected


def test_an_empty_value_is_a_value():
    assert parse("app=").matches({"app": ""})
    assert not parse("app=").matches({"app": "web"})


@pytest.mark.parametrize(
    "text", ["=web", "app==web=x", "app in web", "a,,b", "app in (a b)", "-x", "a_b.io/x"]
)
def test_what_cannot_be_read_says_which_requirement(text):
    with pytest.raises(SelectorError, match=r"cannot read|empty requirement"):
        parse(text)

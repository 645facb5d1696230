"""kubectl's JSONPath templates and custom columns, as `get -o jsonpath=` / `-o custom-columns=`
print them (examples from kubernetes.io/docs/reference/kubectl/jsonpath)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tctl_py.output.jsonpath import (
    TemplateError,
    column_cells,
    compile_columns,
    compile_path,
    compile_template,
    render_template,
)

LIST = {
    "apiVersion": "v1",
    "kind": "List",
    "items": [
        {
            "kind": "ServiceEntry",
            "metadata": {"name": "details", "labels": {"app": "details", "example.com/tier": "web"}},
            "spec": {"hosts": ["details.svc"], "ports": [{"number": 9080, "name": "http"}]},
        },
        {
            "kind": "ServiceEntry",
            "metadata": {"name": "reviews"},
            "spec": {"hosts": ["reviews.svc", "r.svc"], "ports": [{"number": 80}, {"number": 443}]},
        },
    ],
}


def render(template: str, data: object = LIST) -> str:
    return render_template(compile_template(template), data)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{.kind}", "List"),
        ("{$.kind}", "List"),
        ("{.items[*].metadata.name}", "details reviews"),
        ("{.items[0].metadata.name}", "details"),
        ("{.items[-1].metadata.name}", "reviews"),
        ("{.items[0:1].metadata.name}", "details"),
        ("{.items[*]['metadata']['name']}", "details reviews"),
        ("{..number}", "9080 80 443"),
        ("{.items[*].spec.hosts}", '["details.svc"] ["reviews.svc","r.svc"]'),
        ("{.items[0].spec.ports[0].number}", "9080"),
        ('{.items[?(@.metadata.name=="reviews")].spec.hosts[1]}', "r.svc"),
        ("{.items[?(@.metadata.name!='reviews')].metadata.name}", "details"),
        ("{.items[*].spec.ports[?(@.number > 100)].number}", "9080 443"),
        ("{.items[?(@.metadata.labels)].metadata.name}", "details"),
        (r"{.items[0].metadata.labels.example\.com/tier}", "web"),
        ("{.items[0].metadata.labels}", '{"app":"details","example.com/tier":"web"}'),
        (
            '{range .items[*]}{.metadata.name}{"\\t"}{.spec.hosts[0]}{"\\n"}{end}',
            "details\tdetails.svc\nreviews\treviews.svc\n",
        ),
        ("{range .items[*]}[{range .spec.ports[*]}{.number};{end}]{end}", "[9080;][80;443;]"),
        ("names: {.items[*].metadata.name}.", "names: details reviews."),
        ("{.items[5].metadata.name}{.missing}{.items[0].nope}", ""),  # missing keys print nothing
        ("plain text", "plain text"),
    ],
)
def test_templates(template, expected):
    assert render(template) == expected


@pytest.mark.parametrize(
    "template", ["{.a", "{range .items[*]}x", "{end}", "{.a[?x]}", "{.a[}", '{"unclosed}']
)
def test_templates_that_cannot_be_read(template):
    with pytest.raises(TemplateError):
        compile_template(template)


def test_custom_columns_one_cell_per_column():
    columns = compile_columns("NAME:.metadata.name,HOSTS:.spec.hosts[*],APP:{.metadata.labels.app}")
    assert [header for header, _ in columns] == ["NAME", "HOSTS", "APP"]
    assert column_cells(columns, LIST["items"][0]) == ["details", "details.svc", "details"]
    assert column_cells(columns, LIST["items"][1]) == ["reviews", "reviews.svc,r.svc", "<none>"]


@pytest.mark.parametrize("spec", ["NAME", "NAME:", ":.metadata.name", "A:.a,B"])
def test_custom_columns_need_header_and_expression(spec):
    with pytest.raises(TemplateError, match="HEADER:EXPRESSION"):
        compile_columns(spec)


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5))
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.from_regex(r"[a-z]{1,4}", fullmatch=True), inner, max_size=3),
    ),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None)
@given(DOCUMENTS)
def test_the_whole_document_is_itself_as_json(document):
    text = render("{.}", document)
    assert (text if isinstance(document, str) else json.loads(text)) == document


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.from_regex(r"[a-z]{1,4}", fullmatch=True), DOCUMENTS, max_size=4))
def test_a_field_finds_what_the_mapping_holds(mapping):
    for key, value in mapping.items():
        assert compile_path(f".{key}").find(mapping) == [value]
        assert compile_path(f"['{key}']").find(mapping) == [value]
    assert compile_path(".*").find(mapping) == list(mapping.values())

"""tctl_py.output: problem reports (text, json, junit, github), diffs, YAML/JSON rendering, tables."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tctl_py.errors import Position, Problem, Severity
from tctl_py.output import diff, problems, render, tables

FULL = Problem(
    Position("cfg/ws.yaml", 12, 16),
    "expected string, got integer 5",
    kind="Workspace",
    name="bookinfo-ws",
    path="$.spec.displayName",
)
HINTED = Problem(
    Position("cfg/ws.yaml", 3, 1),
    'unknown field "extra"',
    kind="Workspace",
    name="bookinfo-ws",
    path="$.extra",
    hint='did you mean "spec"?',
)
BARE = Problem(Position("empty.yaml"), "no documents found")
NASTY = Problem(
    Position("dir:with,odd/f<1>.yaml", 2, 3),
    'bad <value> & "quotes", 100%\nsecond line: yes',
    kind="Tenant",
    name="t:1",
    path="$.metadata.labels.a,b",
)
WARNING = Problem(Position("w.yaml", 1, 1), "just so you know", severity=Severity.WARNING)


# --- text -------------------------------------------------------------------------------------------


def test_text_line_format():
    assert problems.as_text([FULL]) == (
        "cfg/ws.yaml:12:16: Workspace bookinfo-ws: $.spec.displayName: expected string, got integer 5\n"
    )


def test_text_line_with_hint_and_without_position():
    text = problems.as_text([HINTED, BARE])
    assert text.splitlines() == [
        'cfg/ws.yaml:3:1: Workspace bookinfo-ws: $.extra: unknown field "extra" (hint: did you mean "spec"?)',
        "empty.yaml: no documents found",
    ]


def test_text_lines_match_the_documented_pattern():
    pattern = re.compile(r"^[^:]+:\d+:\d+: \w+ [\w-]+: \$[.\w\[\]]*: .+$")
    for line in problems.as_text([FULL, HINTED]).splitlines():
        assert pattern.match(line), line


def test_text_of_no_problems_is_empty():
    assert problems.as_text([]) == ""


@pytest.mark.parametrize(
    ("found", "documents", "files", "expected"),
    [
        ([], 4, 3, "4 documents in 3 files valid"),
        ([], 1, 1, "1 document in 1 file valid"),
        ([FULL], 1, 1, "1 problem found in 1 document in 1 file"),
        ([FULL, HINTED], 2, 1, "2 problems found in 2 documents in 1 file"),
    ],
)
def test_summary(found, documents, files, expected):
    assert problems.summary(found, documents, files) == expected


# --- json ---------------------------------------------------------------------------------------------


def test_json_report_fields():
    report = json.loads(problems.as_json([FULL, BARE], 3, 2))
    assert report["valid"] is False
    assert report["summary"] == {"files": 2, "documents": 3, "problems": 2}
    first = report["problems"][0]
    assert first == {
        "file": "cfg/ws.yaml",
        "line": 12,
        "column": 16,
        "kind": "Workspace",
        "name": "bookinfo-ws",
        "path": "$.spec.displayName",
        "message": "expected string, got integer 5",
        "hint": "",
        "severity": "error",
    }
    assert report["problems"][1]["line"] == 0 and report["problems"][1]["file"] == "empty.yaml"


def test_json_report_valid():
    report = json.loads(problems.as_json([], 4, 3))
    assert report["valid"] is True and report["problems"] == []


def test_json_report_keeps_odd_characters():
    report = json.loads(problems.as_json([NASTY], 1, 1))
    assert report["problems"][0]["message"] == NASTY.message
    assert report["problems"][0]["file"] == NASTY.position.file


# --- junit --------------------------------------------------------------------------------------------


def test_junit_is_well_formed_with_one_case_per_file():
    text = problems.as_junit([FULL, HINTED, NASTY], ["cfg/ws.yaml", "ok.yaml", NASTY.position.file])
    root = ET.fromstring(text)
    assert root.tag == "testsuites"
    cases = root.findall(".//testcase")
    assert [c.get("name") for c in cases] == ["cfg/ws.yaml", "ok.yaml", NASTY.position.file]
    failures = {c.get("name"): c.findall("failure") for c in cases}
    assert len(failures["cfg/ws.yaml"]) == 2
    assert failures["ok.yaml"] == []
    assert len(failures[NASTY.position.file]) == 1
    assert failures[NASTY.position.file][0].get("message") == NASTY.message
    assert failures["cfg/ws.yaml"][0].text == str(FULL)
    suite = root.find("testsuite")
    assert suite.get("tests") == "3" and suite.get("failures") == "2"
    assert root.get("tests") == "3" and root.get("failures") == "2"


def test_junit_counts_problem_files_not_given_as_inputs():
    root = ET.fromstring(problems.as_junit([BARE], []))
    assert [c.get("name") for c in root.iter("testcase")] == ["empty.yaml"]
    assert root.get("failures") == "1"


def test_junit_with_no_problems():
    root = ET.fromstring(problems.as_junit([], ["a.yaml", "b.yaml"]))
    assert root.get("failures") == "0"
    assert root.findall(".//failure") == []
    assert len(root.findall(".//testcase")) == 2


# --- github -------------------------------------------------------------------------------------------


def test_github_annotation_line():
    assert problems.as_github([FULL]) == (
        "::error file=cfg/ws.yaml,line=12,col=16,"
        "title=Workspace bookinfo-ws%3A $.spec.displayName::expected string, got integer 5\n"
    )


def test_github_without_position_has_no_line():
    assert problems.as_github([BARE]) == "::error file=empty.yaml,title=tctl::no documents found\n"


def test_github_hint_in_message():
    line = problems.as_github([HINTED])
    assert line.endswith('::unknown field "extra" (hint: did you mean "spec"?)\n')


def test_github_escapes_properties_and_data():
    lines = problems.as_github([NASTY]).splitlines()
    assert len(lines) == 1  # the newline of the message is escaped
    line = lines[0]
    match = re.fullmatch(r"::error (?P<props>[^:]*)::(?P<data>.*)", line)
    assert match, line
    props = dict(item.split("=", 1) for item in match["props"].split(","))
    assert props == {
        "file": "dir%3Awith%2Codd/f<1>.yaml",
        "line": "2",
        "col": "3",
        "title": "Tenant t%3A1%3A $.metadata.labels.a%2Cb",
    }
    assert match["data"] == 'bad <value> & "quotes", 100%25%0Asecond line: yes'


def test_github_warning_level():
    assert problems.as_github([WARNING]).startswith("::warning file=w.yaml,")


def test_warnings_alone_are_valid():
    assert json.loads(problems.as_json([WARNING], 1, 1))["valid"] is True


# --- diff ---------------------------------------------------------------------------------------------

OBJECT = {
    "apiVersion": "api.tsb.tetrate.io/v2",
    "kind": "Workspace",
    "metadata": {"name": "ws", "organization": "o", "tenant": "t"},
    "spec": {"namespaceSelector": {"names": ["*/bookinfo"]}},
}


def test_diff_of_equal_objects_is_empty():
    assert diff.unified(OBJECT, dict(OBJECT), "organizations/o/tenants/t/workspaces/ws") == ""


def test_diff_of_a_change():
    after = {**OBJECT, "spec": {"namespaceSelector": {"names": ["*/reviews"]}}}
    text = diff.unified(OBJECT, after, "w")
    lines = text.splitlines()
    assert lines[0] == "--- a/w" and lines[1] == "+++ b/w"
    assert "-    - '*/bookinfo'" in lines and "+    - '*/reviews'" in lines
    assert (
        sum(1 for line in lines if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))) == 2
    )


def test_diff_of_a_creation_and_a_deletion():
    created = diff.unified(None, OBJECT, "w").splitlines()
    assert created[:2] == ["--- /dev/null", "+++ b/w"]
    assert all(line.startswith("+") for line in created[3:])
    deleted = diff.unified(OBJECT, None, "w").splitlines()
    assert deleted[:2] == ["--- a/w", "+++ /dev/null"]
    assert all(line.startswith("-") for line in deleted[3:])


def test_diff_is_stable():
    after = {**OBJECT, "metadata": {**OBJECT["metadata"], "name": "other"}}
    assert diff.unified(OBJECT, after, "w") == diff.unified(OBJECT, after, "w")


def test_colorize_keeps_the_text():
    text = diff.unified(OBJECT, {**OBJECT, "kind": "X"}, "w")
    coloured = diff.colorize(text)
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == text
    assert "\x1b[32m+kind: X\x1b[0m" in coloured


# --- render -------------------------------------------------------------------------------------------


def whole(output: str, bodies: list, single: bool = False) -> str:
    """How tctl printed objects before it streamed them: one document dumped at once."""
    document = bodies[0] if single and len(bodies) == 1 else render.as_list(bodies)
    if output == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return render.to_yaml(document)


def streamed(output: str, bodies: list, single: bool = False) -> str:
    pieces: list[str] = []
    printer = render.ListPrinter(render.FORMATS[output], pieces.append, single=single)
    for body in bodies:
        printer.add(body)
    printer.close()
    return "".join(pieces)


def test_yaml_of_several_objects_is_a_list():
    other = {**OBJECT, "metadata": {**OBJECT["metadata"], "name": "ws2"}}
    data = yaml.safe_load(streamed("yaml", [OBJECT, other]))
    assert data == {"apiVersion": "v1", "kind": "List", "items": [OBJECT, other]}


def test_yaml_of_one_named_object_is_the_object():
    assert yaml.safe_load(streamed("yaml", [OBJECT], single=True)) == OBJECT


def test_yaml_of_one_object_unnamed_is_still_a_list():
    assert yaml.safe_load(streamed("yaml", [OBJECT]))["kind"] == "List"


def test_yaml_keeps_key_order_and_block_style():
    text = streamed("yaml", [OBJECT], single=True)
    assert text.splitlines()[:3] == ["apiVersion: api.tsb.tetrate.io/v2", "kind: Workspace", "metadata:"]
    assert "{" not in text


def test_json_of_several_objects_is_a_list():
    data = json.loads(streamed("json", [OBJECT, OBJECT]))
    assert data["kind"] == "List" and data["items"] == [OBJECT, OBJECT]
    assert json.loads(streamed("json", [OBJECT], single=True)) == OBJECT


def test_yaml_unicode_is_kept_readable():
    text = render.to_yaml({"spec": {"displayName": "Café ☕"}})
    assert "Café ☕" in text


JSONISH = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)
BODIES = st.lists(st.dictionaries(st.text(min_size=1, max_size=6), JSONISH, max_size=4), max_size=5)


@settings(max_examples=150, deadline=None)
@given(BODIES, st.sampled_from(["yaml", "json"]), st.booleans())
def test_a_list_written_item_by_item_is_the_whole_list_dumped_at_once(bodies, output, single):
    """The printers stream a List's items one by one (to bound memory): the same bytes as one
    dump of the whole document, for any number of objects, alone or not."""
    assert streamed(output, bodies, single) == whole(output, bodies, single)


def test_the_first_object_is_held_only_while_it_may_be_printed_alone():
    pieces: list[str] = []
    printer = render.ListPrinter(render.YAML, pieces.append, single=True)
    printer.add(OBJECT)
    assert pieces == []  # one object of `get KIND NAME` prints alone, not as a List
    printer.add(OBJECT)
    assert "".join(pieces).startswith("apiVersion: v1\nkind: List\nitems:\n")
    unnamed: list[str] = []
    render.ListPrinter(render.YAML, unnamed.append).add(OBJECT)
    assert unnamed  # without `single`, written at once


class _NoAliases(yaml.CSafeDumper):
    def ignore_aliases(self, data):
        return True


def pyyaml(body) -> str:
    """PyYAML's own block-style dump, with tctl's options: what `to_yaml` must write."""
    return yaml.dump(
        body, Dumper=_NoAliases, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1 << 16
    )


# Strings PyYAML prints plain, and strings it quotes: indicators, spaces, numbers, booleans,
# nulls, timestamps, sexagesimals, unicode, a key too long to be a simple key.
TRICKY = st.one_of(
    st.text(alphabet="az09.-_/,=+@:# '\"!&*?~[]{}%|>\n\té", max_size=8),
    st.sampled_from(
        [
            "true",
            "No",
            "on",
            "y",
            "null",
            "~",
            "1.5",
            "1e3",
            "0x1f",
            "0o17",
            "1_000",
            "12:30",
            "2026-01-15",
            "-a",
            "a:",
            ":a",
            "a: b",
            "a #b",
            "10.0.0.1",
            "k-svc-1",
            "",
            " a",
            "a ",
            "x" * 130,
            ".inf",
            "<<",
        ]
    ),
)
# Each a value and a key: where libyaml's plain style ends and quoting begins.
EDGES = [
    *["", " ", "a ", " a", "a  b", "a b", "a:b", "a: b", "a:", ":", ":a", ": a", "?", "? a", "?a"],
    *["-", "- a", "-a", "--", "---", "---a", "...", "..a", "a#b", "a #b", "#a", "a'b", "'", "''"],
    *['"a"', '["cluster-1"]', "[a]", "{a}", "a,b", "&a", "*a", "!a", "|a", ">a", "%a", "@a", "`a"],
    *["true", "True", "yes", "off", "y", "null", "~", "1", "-1", "+1", "1.5", ".5", "1e3", "0x1f"],
    *["0o17", "1_000", "12:30", "1:2:3", "2026-01-15", "2026-01-15T10:00:00Z", ".inf", "-.inf", "<<"],
    *["=", "a=b", "10.0.0.1", "::1", "fe80::1", "http://x", "a\tb", "a\nb", "é", "x" * 127, "x" * 128],
]


@pytest.mark.parametrize("value", EDGES)
def test_a_string_is_written_as_pyyaml_writes_it_as_a_value_and_as_a_key(value):
    for body in ({"k": value}, {value: 1}, [value], [{"k": [value]}]):
        assert render.to_yaml(body) == pyyaml(body)


PLAIN = st.from_regex(r"[a-z0-9][a-z0-9./,=+@-]{0,6}", fullmatch=True)  # mostly printed unquoted


def yamlish(strings):
    return st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), strings),
        lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(strings, inner, max_size=3)),
        max_leaves=14,
    )


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.dictionaries(PLAIN, yamlish(PLAIN), max_size=4), st.lists(yamlish(PLAIN), max_size=4)))
def test_yaml_of_plain_objects_is_written_as_pyyaml_writes_it(body):
    """to_yaml writes objects of plain strings itself (faster): byte for byte what PyYAML writes."""
    assert render.to_yaml(body) == pyyaml(body)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(TRICKY, yamlish(st.one_of(PLAIN, TRICKY, st.floats(allow_nan=False))), max_size=4))
def test_yaml_of_any_object_is_written_as_pyyaml_writes_it(body):
    """Strings PyYAML quotes, floats, long keys: still PyYAML's bytes."""
    assert render.to_yaml(body) == pyyaml(body)


def test_an_istio_object_is_written_without_pyyaml_and_as_pyyaml_writes_it(monkeypatch):
    body = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "WorkloadEntry",
        "metadata": {"name": "k-details-1f0e", "namespace": "bookinfo", "labels": {"app": "details"}},
        "spec": {"address": "10.0.0.1", "ports": {"http": 15443}, "network": "network-1", "empty": {}},
    }
    expected = pyyaml([body])

    def refused(*args, **kwargs):
        raise AssertionError("PyYAML was asked")

    monkeypatch.setattr(render.yaml, "dump", refused)
    assert render.to_yaml([body]) == expected


def test_shared_values_are_written_out_not_as_yaml_aliases():
    shared = {"security.istio.io/tlsMode": "istio"}
    text = streamed("yaml", [{"labels": shared}, {"labels": shared}])
    assert "&" not in text and "*" not in text
    assert yaml.safe_load(text)["items"] == [{"labels": shared}, {"labels": shared}]


# --- tables -------------------------------------------------------------------------------------------


def test_plain_table_has_no_trailing_spaces():
    text = "".join(
        tables.plain_lines(
            ["NAME", "DISPLAY NAME", "DESCRIPTION"],
            [["a-long-name", "", ""], ["b", "B", ""], ["c", "", "last column"]],
        )
    )
    lines = text.splitlines()
    assert len(lines) == 4
    for line in lines:
        assert line == line.rstrip(), repr(line)
    assert text.endswith("\n")


def test_plain_table_aligns_columns():
    lines = "".join(
        tables.plain_lines(["NAME", "TENANT"], [["a-long-name", "t"], ["b", "tenant-2"]])
    ).splitlines()
    starts = {line.index(word) for line, word in zip(lines, ["TENANT", "t", "tenant-2"], strict=False)}
    assert len(starts) == 1
    assert lines[0].startswith("NAME ")


def test_rows_for_each_kind_and_wide():
    rows = tables.Rows("Workspace", wide=False)
    rows.add(OBJECT)
    assert rows.headers[:3] == ["NAME", "TENANT", "NAMESPACES"]
    assert rows.cells == [[*["ws", "t", "*/bookinfo"], *[""] * (len(rows.headers) - 3)]]
    assert "ORGANIZATION" in tables.Rows("Workspace", wide=True).headers
    assert "ORGANIZATION" not in rows.headers
    for kind in ("Organization", "Tenant", "Workspace", "WorkspaceSetting", "Cluster"):
        rows = tables.Rows(kind, wide=True)
        rows.add({"metadata": {"name": "x"}, "spec": {}})
        assert rows.headers[0] == "NAME" and rows.cells[0][0] == "x"


def test_extra_columns_lead_and_close_each_row():
    rows = tables.Rows("DestinationRule", wide=False, prefix=["CLUSTER"], suffix=["SYNC"])
    rows.add({"metadata": {"name": "r"}, "spec": {"host": "h"}}, ["c1"], ["in-sync"])
    assert rows.headers == ["CLUSTER", "NAME", "HOST", "SYNC"]
    assert rows.cells == [["c1", "r", "h", "in-sync"]]


def test_render_to_a_pipe_is_plain():
    class Pipe:
        def __init__(self):
            self.text = ""

        def isatty(self):
            return False

        def write(self, text):
            self.text += text

    pipe = Pipe()
    tables.render(["NAME"], [["a"]], pipe)
    assert pipe.text == "NAME\na\n"

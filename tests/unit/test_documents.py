"""tctl_py.config.documents: reading files, folders and stdin into documents with positions."""

from __future__ import annotations

import io
import json
import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tctl_py.config.documents import MAX_NODES, Source, load, parse
from tctl_py.errors import Position, UsageError


def parse_text(text: str, name: str = "in.yaml"):
    return parse(Source(name, text))


def messages(problems) -> list[str]:
    return [p.message for p in problems]


# --- positions ----------------------------------------------------------------------------------

MULTI = """\
apiVersion: v1
kind: Thing
metadata:
  name: one
  labels: {app: web, tier: "front"}
spec:
  list:
    - a
    - key: value
---
apiVersion: v1
kind: List
items:
  - kind: A
    metadata:
      name: first
  - {kind: B, metadata: {name: second}}
"""


@pytest.fixture()
def multi():
    documents, problems = parse_text(MULTI, "multi.yaml")
    assert problems == []
    return documents


def test_documents_of_a_stream_and_list_items_are_flattened(multi):
    assert [d.body.get("kind") for d in multi] == ["Thing", "A", "B"]
    assert [d.name for d in multi] == ["one", "first", "second"]
    assert all(d.source == "multi.yaml" for d in multi)


def test_each_document_knows_where_it_starts(multi):
    assert [(d.line, d.column) for d in multi] == [(1, 1), (14, 5), (17, 5)]


@pytest.mark.parametrize(
    ("path", "key", "expected"),
    [
        ([], False, (1, 1)),
        (["kind"], False, (2, 7)),
        (["kind"], True, (2, 1)),
        (["metadata", "name"], False, (4, 9)),
        (["metadata", "name"], True, (4, 3)),
        # flow style mapping inside a block mapping
        (["metadata", "labels", "app"], False, (5, 17)),
        (["metadata", "labels", "tier"], False, (5, 28)),
        (["metadata", "labels", "tier"], True, (5, 22)),
        (["spec", "list", 0], False, (8, 7)),
        (["spec", "list", 1, "key"], False, (9, 12)),
        (["spec", "list", 1, "key"], True, (9, 7)),
    ],
)
def test_position_of_values_and_keys(multi, path, key, expected):
    assert multi[0].position(path, key=key) == Position("multi.yaml", *expected)


def test_position_of_a_missing_path_is_the_deepest_ancestor_found(multi):
    # spec exists, spec.nothing does not: the position is where spec's value starts
    assert multi[0].position(["spec", "nothing", "x"]) == Position("multi.yaml", 7, 3)
    # list index out of range: the list itself
    assert multi[0].position(["spec", "list", 7]) == Position("multi.yaml", 8, 5)


def test_positions_inside_list_items_are_of_the_file(multi):
    first, second = multi[1], multi[2]
    assert first.position(["metadata", "name"]) == Position("multi.yaml", 16, 13)
    assert first.position(["kind"], key=True) == Position("multi.yaml", 14, 5)
    # a flow-style item on one line
    assert second.position(["metadata", "name"]) == Position("multi.yaml", 17, 32)
    assert second.position(["kind"]) == Position("multi.yaml", 17, 12)


def test_positions_across_documents_count_lines_of_the_whole_file():
    text = "a: 1\n---\n# comment\nb:\n  c: 2\n---\nd: 3\n"
    documents, problems = parse_text(text)
    assert problems == []
    assert [(d.line, d.column) for d in documents] == [(1, 1), (4, 1), (7, 1)]
    assert documents[1].position(["b", "c"]) == Position("in.yaml", 5, 6)
    assert documents[2].position(["d"], key=True) == Position("in.yaml", 7, 1)


# --- strictness ---------------------------------------------------------------------------------


def test_duplicate_key_is_refused_at_the_second_key():
    documents, problems = parse_text("a: 1\nb: 2\na: 3\n")
    assert documents == []
    assert len(problems) == 1
    assert problems[0].position == Position("in.yaml", 3, 1)
    assert 'duplicate key "a"' in problems[0].message


def test_nested_duplicate_key_is_refused_at_the_second_key():
    text = "metadata:\n  name: x\n  labels:\n    app: a\n    app: b\n"
    documents, problems = parse_text(text)
    assert documents == []
    assert [(p.position.line, p.position.column) for p in problems] == [(5, 5)]
    assert 'duplicate key "app"' in problems[0].message


def test_duplicate_key_in_flow_mapping():
    documents, problems = parse_text('{"a": 1, "a": 2}\n')
    assert documents == []
    assert [(p.position.line, p.position.column) for p in problems] == [(1, 10)]


def test_a_bad_document_does_not_hide_the_others():
    documents, problems = parse_text("a: 1\n---\nb: 1\nb: 2\n---\nc: 1\n")
    assert [d.body for d in documents] == [{"a": 1}, {"c": 1}]
    assert [(p.position.line, p.position.column) for p in problems] == [(4, 1)]


BILLION_LAUGHS = (
    "\n".join(
        ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        + [
            f"{chr(ord('a') + i)}: &{chr(ord('a') + i)} [" + ",".join([f"*{chr(ord('a') + i - 1)}"] * 9) + "]"
            for i in range(1, 9)
        ]
    )
    + "\n"
)


def test_billion_laughs_is_refused_fast():
    started = time.perf_counter()
    documents, problems = parse_text(BILLION_LAUGHS)
    elapsed = time.perf_counter() - started
    assert documents == []
    assert len(problems) == 1
    assert "expands to more than" in problems[0].message
    assert problems[0].position.line >= 1
    assert elapsed < 5.0


def test_alias_bomb_through_merge_keys_is_refused_fast():
    lines = ["a0: &a0 {k0: v}"]
    lines += [
        f"a{i}: &a{i} {{<<: [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}], k{i}: v}}" for i in range(1, 40)
    ]
    started = time.perf_counter()
    documents, problems = parse_text("\n".join(lines) + "\n")
    assert documents == []
    assert len(problems) == 1 and "expands to more than" in problems[0].message
    assert time.perf_counter() - started < 5.0


@pytest.mark.parametrize("text", ["a: &a\n  b: *a\n", "&a [*a]\n", "x: &x [1, [2, *x]]\n"])
def test_self_referencing_alias_is_refused(text):
    documents, problems = parse_text(text)
    assert documents == []
    assert len(problems) == 1
    assert "nested more than" in problems[0].message
    assert problems[0].position.line == 1


def test_ordinary_aliases_are_expanded():
    documents, problems = parse_text("a: &x {k: v}\nb: *x\nc: [*x, *x]\n")
    assert problems == []
    assert documents[0].body == {"a": {"k": "v"}, "b": {"k": "v"}, "c": [{"k": "v"}, {"k": "v"}]}


def test_merge_keys():
    text = "base: &base\n  app: web\n  tier: front\nobj:\n  <<: *base\n  tier: back\n"
    documents, problems = parse_text(text)
    assert problems == []
    assert documents[0].body["obj"] == {"app": "web", "tier": "back"}
    # a merged value is found where it was written, an overriding one where it overrides
    assert documents[0].position(["obj", "app"]) == Position("in.yaml", 2, 8)
    assert documents[0].position(["obj", "tier"]) == Position("in.yaml", 6, 9)


def test_merge_of_several_mappings_earlier_wins():
    text = "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  <<: [*a, *b]\n  w: 0\n"
    documents, problems = parse_text(text)
    assert problems == []
    assert documents[0].body["c"] == {"x": 1, "y": 1, "z": 2, "w": 0}


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object:os.system echo\n",  # on a scalar
        "a: !!python/object/apply:os.system [echo hi]\n",  # on a sequence
        "a: !!python/object:os.system {cmd: echo}\n",  # on a mapping
        "a: !!set {x, y}\n",
    ],
    ids=["scalar", "sequence", "mapping", "set"],
)
def test_tags_that_are_not_plain_data_are_refused(text):
    """Unknown tags are refused with a position, whatever node they are on (safe_load refuses
    them too); a tag on a collection must not be silently dropped."""
    documents, problems = parse_text(text)
    assert documents == []
    assert len(problems) == 1
    assert problems[0].position == Position("in.yaml", 1, 4)
    assert "tag" in problems[0].message


def test_scalars_are_typed_like_safe_load_but_timestamps_stay_text():
    documents, problems = parse_text("a: 2020-01-01\nb: true\nc: 0x1f\nd: 1.5\ne: ~\nf: '007'\n")
    assert problems == []
    assert documents[0].body == {"a": "2020-01-01", "b": True, "c": 31, "d": 1.5, "e": None, "f": "007"}


# --- empty input and syntax errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["", "\n\n", "# only a comment\n# and another\n", "---\n", "---\n---\n...\n"]
)
def test_no_documents_is_a_problem(text):
    documents, problems = parse_text(text, "empty.yaml")
    assert documents == []
    assert len(problems) == 1
    assert "no documents" in problems[0].message
    assert problems[0].position.file == "empty.yaml"


def test_null_documents_between_separators_are_skipped():
    documents, problems = parse_text("---\n---\na: 1\n---\n~\n---\nnull\n---\nb: 2\n---\n")
    assert problems == []
    assert [d.body for d in documents] == [{"a": 1}, {"b": 2}]
    assert [d.line for d in documents] == [3, 9]


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("a: b: c\n", 1, 5),
        ("a: 1\nb:\n\tc: 2\n", 3, 1),  # tab indentation
        ("a: 1\nb: [1, 2\nc: 3\n", 3, 2),
        ('a: "unterminated\n', 2, 1),
        ("a: 1\n b: 2\n", 2, 3),
    ],
)
def test_syntax_error_position(text, line, column):
    documents, problems = parse_text(text)
    assert documents == []
    assert len(problems) == 1
    assert problems[0].message.startswith("YAML syntax error")
    assert (problems[0].position.line, problems[0].position.column) == (line, column)


def test_syntax_error_after_good_documents_keeps_them():
    documents, problems = parse_text("a: 1\n---\nb: [\n")
    assert [d.body for d in documents] == [{"a": 1}]
    assert len(problems) == 1 and problems[0].position.line >= 3


# --- JSON ---------------------------------------------------------------------------------------

TABBED_JSON = '{\n\t"apiVersion": "v1",\n\t"kind": "X",\n\t"metadata": {\n\t\t"name": "a"\n\t}\n}\n'


def test_json_with_tabs_is_parsed():
    documents, problems = parse_text(TABBED_JSON, "x.json")
    assert problems == []
    assert [d.body for d in documents] == [json.loads(TABBED_JSON)]
    assert documents[0].position(["metadata", "name"]).line == 5


def test_json_one_line_positions():
    documents, problems = parse_text('{"a": 1, "b": [1, 2], "c": {"d": "e"}}', "x.json")
    assert problems == []
    assert documents[0].position(["c", "d"]) == Position("x.json", 1, 34)
    assert documents[0].position(["b", 1]) == Position("x.json", 1, 19)


def test_json_list_is_flattened():
    text = '{"apiVersion": "v1", "kind": "List", "items": [{"kind": "A"}, {"kind": "B"}]}'
    documents, problems = parse_text(text, "x.json")
    assert problems == []
    assert [d.kind for d in documents] == ["A", "B"]


def test_invalid_json_is_a_problem():
    documents, problems = parse_text('{\n\t"a": 1,\n\t\n', "x.json")
    assert documents == []
    assert len(problems) == 1
    assert problems[0].position.file == "x.json" and problems[0].position.line >= 2


def test_json_duplicate_key_is_refused():
    """Strict by default: a duplicate key is an error in JSON files too."""
    documents, problems = parse_text('{\n  "a": 1,\n  "a": 2\n}\n', "x.json")
    assert documents == []
    assert len(problems) == 1
    assert 'duplicate key "a"' in problems[0].message
    assert (problems[0].position.line, problems[0].position.column) == (3, 3)


def test_json_nested_too_deep_is_refused_like_yaml():
    text = "[" * 200 + "]" * 200
    assert parse_text(text, "x.yaml")[1] != []
    documents, problems = parse_text(text, "x.json")
    assert documents == []
    assert len(problems) == 1


def test_json_nested_absurdly_deep_is_a_problem_not_an_exception():
    text = "[" * 100_000 + "]" * 100_000
    documents, problems = parse_text(text, "x.json")
    assert documents == []
    assert len(problems) == 1


def test_a_large_document_within_the_value_budget_is_read():
    """Keys are parser events but not values: a mapping of 150,000 keys (300,000 events) is read."""
    pairs = 150_000
    text = "{" + ", ".join(f"k{i}: {i}" for i in range(pairs)) + "}\n"
    documents, problems = parse(Source("big.yaml", text))
    assert problems == []
    assert len(documents[0].body) == pairs


def test_a_document_over_the_value_budget_is_refused_where_counting_stopped():
    text = "k: [" + "1," * (2 * MAX_NODES) + "1]\n"
    documents, problems = parse(Source("crowded.yaml", text))
    assert documents == []
    [problem] = problems
    assert f"more than {MAX_NODES} values" in problem.message
    # nodes: the mapping, the key, the list, then the items (item 1 at column 5): node
    # 2 x MAX_NODES + 1, the first over, is item 2 x MAX_NODES - 2
    assert problem.position == Position("crowded.yaml", 1, 5 + 2 * (2 * MAX_NODES - 2 - 1))


# --- files, folders, stdin ------------------------------------------------------------------------


def test_non_utf8_file_is_a_problem(tmp_path):
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("name: caf\xe9\n".encode("latin-1"))
    loaded = load([str(bad)])
    assert loaded.documents == []
    assert loaded.files == [str(bad)]
    assert len(loaded.problems) == 1
    assert loaded.problems[0].position.file == str(bad)
    assert "UTF-8" in loaded.problems[0].message


def test_utf8_bom_is_accepted(tmp_path):
    file = tmp_path / "bom.yaml"
    file.write_bytes(b"\xef\xbb\xbfa: 1\n")
    loaded = load([str(file)])
    assert loaded.problems == []
    assert [d.body for d in loaded.documents] == [{"a": 1}]


@pytest.fixture()
def folder(tmp_path):
    root = tmp_path / "cfg"
    (root / "sub").mkdir(parents=True)
    (root / ".hidden").mkdir()
    # written out of order on purpose
    for name, text in [
        ("c.json", '{"n": "c"}'),
        ("a.yaml", "n: a\n"),
        ("b.yml", "n: b\n"),
        ("notes.txt", "n: txt\n"),
        ("README.md", "# readme\n"),
        ("sub/d.yaml", "n: d\n"),
        (".hidden/e.yaml", "n: e\n"),
    ]:
        (root / name).write_text(text)
    return root


def test_folder_takes_yaml_yml_json_sorted(folder):
    loaded = load([str(folder)])
    assert loaded.problems == []
    assert [d.body["n"] for d in loaded.documents] == ["a", "b", "c"]
    assert loaded.files == [str(folder / n) for n in ("a.yaml", "b.yml", "c.json")]


def test_folder_recursion_only_when_asked(folder):
    loaded = load([str(folder)], recursive=True)
    assert loaded.problems == []
    names = [d.body["n"] for d in loaded.documents]
    assert sorted(names) == ["a", "b", "c", "d"]
    assert "txt" not in names and "e" not in names


def test_inputs_keep_the_order_given(folder):
    loaded = load([str(folder / "c.json"), str(folder / "a.yaml")])
    assert [d.body["n"] for d in loaded.documents] == ["c", "a"]
    assert loaded.files == [str(folder / "c.json"), str(folder / "a.yaml")]


def test_explicit_file_with_any_extension_is_read(folder):
    loaded = load([str(folder / "notes.txt")])
    assert [d.body for d in loaded.documents] == [{"n": "txt"}]


def test_stdin():
    loaded = load(["-"], stdin=io.BytesIO(b"a: 1\n---\nb: 2\n"))
    assert loaded.problems == []
    assert [d.body for d in loaded.documents] == [{"a": 1}, {"b": 2}]
    assert {d.source for d in loaded.documents} == {"<stdin>"}
    assert loaded.files == ["<stdin>"]
    assert loaded.documents[1].position(["b"]) == Position("<stdin>", 3, 4)


def test_empty_stdin_is_a_problem():
    loaded = load(["-"], stdin=io.BytesIO(b""))
    assert loaded.documents == []
    assert len(loaded.problems) == 1 and "no documents" in loaded.problems[0].message


def test_missing_path_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError) as raised:
        load([str(tmp_path / "nope.yaml")])
    assert "nope.yaml" in raised.value.message


def test_problems_of_several_files_are_all_collected(tmp_path):
    (tmp_path / "a.yaml").write_text("a: 1\na: 2\n")
    (tmp_path / "b.yaml").write_text("b: [1\n")
    (tmp_path / "c.yaml").write_text("ok: 1\n")
    (tmp_path / "d.yaml").write_text("")  # an empty file of a folder is skipped, as kubectl does
    loaded = load([str(tmp_path)])
    assert [p.position.file for p in loaded.problems] == [str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")]
    assert [d.body for d in loaded.documents] == [{"ok": 1}]


# --- property: parse agrees with yaml.safe_load, positions point at the values ----------------------

_keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8).filter(
    lambda k: k not in {"kind", "items"}
)
_words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12)
_leaves = st.one_of(_words, st.integers(min_value=-(10**6), max_value=10**6), st.booleans(), st.none())
_data = st.recursive(
    _leaves,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(_keys, children, max_size=4)),
    max_leaves=25,
)
_documents = st.dictionaries(_keys, _data, min_size=1, max_size=5)


def _leaves_of(value, path=()):
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _leaves_of(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _leaves_of(child, (*path, index))
    else:
        yield list(path), value


def _keys_of(value, path=()):
    if isinstance(value, dict):
        for key, child in value.items():
            yield [*path, key], key
            yield from _keys_of(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _keys_of(child, (*path, index))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_documents, flow=st.booleans())
def test_parse_matches_safe_load_and_positions_point_at_values(data, flow):
    text = yaml.safe_dump(data, default_flow_style=flow, sort_keys=False)
    documents, problems = parse(Source("p.yaml", text))
    assert problems == []
    assert len(documents) == 1
    document = documents[0]
    assert document.body == yaml.safe_load(text)
    lines = text.splitlines()
    for path, value in _leaves_of(data):
        if isinstance(value, bool) or value is None:
            continue
        position = document.position(path)
        rendering = str(value)
        assert 1 <= position.line <= len(lines)
        rest = lines[position.line - 1][position.column - 1 :]
        assert rest.lstrip("'\"").startswith(rendering), (path, value, position, text)
    for path, key in _keys_of(data):
        position = document.position(path, key=True)
        rest = lines[position.line - 1][position.column - 1 :]
        assert rest.lstrip("'\"").startswith(key), (path, key, position, text)


def test_typed_list_items_get_the_lists_apiversion_and_kind():
    """`kubectl get --raw` prints a ServiceList whose items carry no apiVersion or kind."""
    text = (
        "apiVersion: v1\nkind: ServiceList\nitems:\n"
        "- metadata: {name: a, namespace: n}\n"
        "- apiVersion: v1\n  kind: Service\n  metadata: {name: b, namespace: n}\n"
    )
    documents, problems = parse(Source("s.yaml", text))
    assert problems == []
    assert [(d.api_version, d.kind, d.name, d.line) for d in documents] == [
        ("v1", "Service", "a", 4),
        ("v1", "Service", "b", 5),
    ]


def test_an_empty_list_is_a_document_but_an_input_of_only_empty_lists_has_no_objects(tmp_path):
    empty = "apiVersion: v1\nkind: List\nitems: []\n"
    assert parse(Source("e.yaml", empty)) == ([], [])
    (tmp_path / "e.yaml").write_text(empty)
    loaded = load([str(tmp_path / "e.yaml")])
    assert [p.message for p in loaded.problems] == ["no objects in the input"]

"""tctl_py.config.validate and semantic: every broken input is reported once, on the right spot."""

from __future__ import annotations

from pathlib import Path

import pytest

from tctl_py.config import semantic
from tctl_py.config.documents import Loaded, Source, load, parse
from tctl_py.config.validate import validate
from tests.support.seed import SEED_INGRESS_GATEWAY, SEED_WORKSPACE_SETTING

EXAMPLES = Path(__file__).parents[2] / "examples" / "bookinfo"

ORGANIZATION = """\
apiVersion: api.tsb.tetrate.io/v2
kind: Organization
metadata:
  name: tse
"""

TENANT = """\
apiVersion: api.tsb.tetrate.io/v2
kind: Tenant
metadata:
  name: tse
  organization: tse
"""


def workspace(names: str = '"*/bookinfo"', metadata: str = "", spec: str = "") -> str:
    return f"""\
apiVersion: api.tsb.tetrate.io/v2
kind: Workspace
metadata:
  name: bookinfo-ws
  tenant: tse
  organization: tse
{metadata}spec:
  namespaceSelector:
    names:
      - {names}
{spec}"""


def setting(
    workload_labels: str = "app: eastwest-gateway",
    service_labels: str = "app: details",
    namespace: str = "bookinfo",
) -> str:
    return f"""\
apiVersion: api.tsb.tetrate.io/v2
kind: WorkspaceSetting
metadata:
  name: s
  workspace: bookinfo-ws
  tenant: tse
  organization: tse
spec:
  defaultEastWestGatewaySettings:
    - workloadSelector:
        namespace: {namespace}
        labels:
          {workload_labels}
      exposedServices:
        - serviceLabels:
            {service_labels}
"""


def gateway(addresses: str) -> str:
    return f"""\
apiVersion: install.tetrate.io/v1alpha1
kind: IngressGateway
metadata:
  name: eastwest-gateway
  namespace: bookinfo
spec:
  eastWestOnly: true
  kubeSpec:
    service:
      annotations:
        xcp.tetrate.io/cluster-external-addresses: "{addresses}"
"""


def check_text(text: str, name: str = "in.yaml"):
    documents, problems = parse(Source(name, text))
    return validate(Loaded(documents, problems, [name]))


def where(problems) -> list[tuple[int, int]]:
    return [(p.position.line, p.position.column) for p in problems]


# --- valid inputs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [SEED_INGRESS_GATEWAY, SEED_WORKSPACE_SETTING],
    ids=["seed-ingressgateway", "seed-workspacesetting"],
)
def test_seed_documents_are_valid(text):
    assert check_text(text) == []


def test_seed_documents_together_are_valid():
    assert check_text(SEED_INGRESS_GATEWAY + "---\n" + SEED_WORKSPACE_SETTING) == []


def test_bookinfo_example_is_valid():
    loaded = load([str(EXAMPLES / "config"), str(EXAMPLES / "eastwest-gateway.yaml")])
    kinds = {document.kind for document in loaded.documents}
    assert {"Organization", "Tenant", "Workspace", "WorkspaceSetting", "IngressGateway"} <= kinds
    assert validate(loaded) == []


@pytest.mark.parametrize(
    "names", ['"*/bookinfo"', '"*/*"', '"cluster-1/ns*"', '"c/bookinfo"', '"eu-west_1.prod/b*"', '"*/a"']
)
def test_valid_selectors(names):
    assert check_text(workspace(names)) == []


@pytest.mark.parametrize(
    "labels", ['app: ""', "app.kubernetes.io/name: x", "example.com/a_b.c-d: A.b-c_9", "a: b"]
)
def test_valid_labels(labels):
    assert check_text(setting(workload_labels=labels, service_labels=labels)) == []


@pytest.mark.parametrize(
    "addresses",
    [
        "1.2.3.4",
        "1.2.3.4,10.0.0.1",
        "1.2.3.4, 10.0.0.1",
        "gw.example.com",
        "2001:db8::1",
        "2001:db8::1,1.2.3.4",
    ],
)
def test_valid_external_addresses(addresses):
    assert check_text(gateway(addresses)) == []


# --- the corpus of broken inputs -------------------------------------------------------------------
# (id, text, line, column, path, substring of the message); each input has exactly one problem.

ALIAS_BOMB = (
    "\n".join(
        ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        + [
            f"{chr(ord('a') + i)}: &{chr(ord('a') + i)} [" + ",".join([f"*{chr(ord('a') + i - 1)}"] * 9) + "]"
            for i in range(1, 9)
        ]
    )
    + "\n"
)

LONG = "a" * 64

BROKEN = [
    # wrong types
    (
        "type-displayname",
        workspace(spec="  displayName: 5\n"),
        11,
        16,
        "$.spec.displayName",
        "expected string, got integer 5",
    ),
    (
        "type-names-not-list",
        workspace().replace('names:\n      - "*/bookinfo"', 'names: "*/bookinfo"'),
        9,
        12,
        "$.spec.namespaceSelector.names",
        "expected array",
    ),
    (
        "type-eastwestonly",
        SEED_INGRESS_GATEWAY.replace("eastWestOnly: true", 'eastWestOnly: "yes"'),
        7,
        17,
        "$.spec.eastWestOnly",
        "expected boolean",
    ),
    (
        "type-metadata-list",
        ORGANIZATION.replace("metadata:\n  name: tse", "metadata: [tse]"),
        3,
        11,
        "$.metadata",
        "expected object",
    ),
    (
        "type-label-value",
        setting(service_labels="app: 5"),
        16,
        18,
        "$.spec.defaultEastWestGatewaySettings[0].exposedServices[0].serviceLabels.app",
        "expected string",
    ),
    # unknown fields
    ("unknown-top", ORGANIZATION + "extra: 1\n", 5, 1, "$.extra", 'unknown field "extra"'),
    ("unknown-metadata", ORGANIZATION + "  bogus: 1\n", 5, 3, "$.metadata.bogus", 'unknown field "bogus"'),
    ("unknown-spec", workspace(spec="  bogus: true\n"), 11, 3, "$.spec.bogus", 'unknown field "bogus"'),
    (
        "unknown-deep-spec",
        SEED_WORKSPACE_SETTING.replace(
            "        namespace: bookinfo\n", "        namespace: bookinfo\n        deep: 1\n"
        ),
        17,
        9,
        "$.spec.defaultEastWestGatewaySettings[0].workloadSelector.deep",
        'unknown field "deep"',
    ),
    (
        "unknown-misspelt",
        workspace(spec="  displayname: x\n"),
        11,
        3,
        "$.spec.displayname",
        'unknown field "displayname"',
    ),
    # missing required fields
    (
        "missing-organization",
        TENANT.replace("  organization: tse\n", ""),
        4,
        3,
        "$.metadata.organization",
        'missing required field "organization"',
    ),
    (
        "missing-name",
        ORGANIZATION.replace("  name: tse\n", "  displayName: x\n"),
        4,
        3,
        "$.metadata.name",
        'missing required field "name"',
    ),
    (
        "missing-metadata",
        "apiVersion: api.tsb.tetrate.io/v2\nkind: Organization\n",
        1,
        1,
        "$.metadata",
        'missing required field "metadata"',
    ),
    (
        "missing-namespaceselector",
        workspace().replace(
            'spec:\n  namespaceSelector:\n    names:\n      - "*/bookinfo"\n', "spec:\n  displayName: x\n"
        ),
        8,
        3,
        "$.spec.namespaceSelector",
        'missing required field "namespaceSelector"',
    ),
    (
        "missing-kind",
        "apiVersion: api.tsb.tetrate.io/v2\nmetadata:\n  name: x\n",
        1,
        1,
        "$.kind",
        'missing required field "kind"',
    ),
    (
        "missing-apiversion",
        "kind: Organization\nmetadata:\n  name: x\n",
        1,
        1,
        "$.apiVersion",
        'missing required field "apiVersion"',
    ),
    # bad enums
    (
        "enum-trafficmode",
        SEED_WORKSPACE_SETTING.replace("trafficMode: REQUIRED", "trafficMode: SOMETIMES"),
        11,
        20,
        "$.spec.defaultSecuritySetting.authenticationSettings.trafficMode",
        '"SOMETIMES" is not one of',
    ),
    (
        "enum-authorization",
        SEED_WORKSPACE_SETTING.replace("mode: WORKSPACE", "mode: EVERYONE"),
        13,
        13,
        "$.spec.defaultSecuritySetting.authorization.mode",
        '"EVERYONE" is not one of',
    ),
    # YAML itself
    ("duplicate-key", ORGANIZATION + "  name: again\n", 5, 3, "", 'duplicate key "name"'),
    (
        "duplicate-key-deep",
        SEED_WORKSPACE_SETTING.replace(
            "          app: eastwest-gateway\n", "          app: eastwest-gateway\n          app: other\n"
        ),
        19,
        11,
        "",
        'duplicate key "app"',
    ),
    ("syntax-error", ORGANIZATION.replace("name: tse", "name: tse: x"), 4, 12, "", "YAML syntax error"),
    ("syntax-tab", ORGANIZATION.replace("  name", "\tname"), 4, 1, "", "YAML syntax error"),
    ("empty", "", 1, 1, "", "no documents"),
    ("comments-only", "# nothing here\n---\n", 1, 1, "", "no documents"),
    ("alias-bomb", ALIAS_BOMB, None, None, "", "expands to more than"),
    (
        "alias-self",
        "apiVersion: api.tsb.tetrate.io/v2\nkind: Organization\nmetadata: &m\n  name: x\n  labels: *m\n",
        None,
        None,
        "",
        "nested more than",
    ),
    ("not-a-mapping", "- a\n- b\n", 1, 1, "", "must be a mapping"),
    # apiVersion and kind
    (
        "wrong-apiversion",
        ORGANIZATION.replace("tsb.tetrate.io/v2", "tsb.tetrate.io/v1"),
        1,
        13,
        "$.apiVersion",
        'belongs to apiVersion "api.tsb.tetrate.io/v2"',
    ),
    (
        "wrong-kind",
        ORGANIZATION.replace("kind: Organization", "kind: Organisation"),
        2,
        7,
        "$.kind",
        'unknown kind "Organisation"',
    ),
    (
        "generated-kind",
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata:\n  name: se\n"
        "  namespace: x\nspec:\n  hosts: [a.b]\n",
        2,
        7,
        "$.kind",
        "tctl generates ServiceEntry",
    ),
    # namespace selectors
    (
        "selector-no-slash",
        workspace('"bookinfo"'),
        10,
        9,
        "$.spec.namespaceSelector.names[0]",
        "must be <cluster>/<namespace>",
    ),
    (
        "selector-two-slashes",
        workspace('"a/b/c"'),
        10,
        9,
        "$.spec.namespaceSelector.names[0]",
        "must be <cluster>/<namespace>",
    ),
    (
        "selector-bad-namespace",
        workspace('"*/Book_Info"'),
        10,
        9,
        "$.spec.namespaceSelector.names[0]",
        "not a valid namespace name",
    ),
    (
        "selector-namespace-star-inside",
        workspace('"*/a*b"'),
        10,
        9,
        "$.spec.namespaceSelector.names[0]",
        '"a*b" is not a valid namespace name',
    ),
    (
        "selector-cluster-star-inside",
        workspace('"a*b/bookinfo"'),
        10,
        9,
        "$.spec.namespaceSelector.names[0]",
        "the cluster part must be",
    ),
    (
        "selector-cluster-prefix",
        workspace('"x*/bookinfo"'),
        10,
        9,
        "$.spec.namespaceSelector.names[0]",
        "the cluster part must be",
    ),
    (
        "selector-empty-cluster",
        workspace('"/bookinfo"'),
        10,
        9,
        "$.spec.namespaceSelector.names[0]",
        "the cluster part must be",
    ),
    (
        "selector-empty-namespace",
        workspace('"cluster-1/"'),
        10,
        9,
        "$.spec.namespaceSelector.names[0]",
        "namespace",
    ),
    (
        "selector-second-entry",
        workspace('"*/bookinfo"\n      - "*/-bad"'),
        11,
        9,
        "$.spec.namespaceSelector.names[1]",
        "not a valid namespace name",
    ),
    # labels: an invalid key is reported on the key, an invalid value on the value
    (
        "label-metadata-key",
        workspace(metadata='  labels:\n    "bad key!": x\n'),
        8,
        5,
        "$.metadata.labels.bad key!",
        'label key "bad key!"',
    ),
    (
        "label-metadata-value",
        workspace(metadata='  labels:\n    app: "bad value!"\n'),
        8,
        10,
        "$.metadata.labels.app",
        'label value "bad value!"',
    ),
    (
        "label-metadata-value-long",
        workspace(metadata=f"  labels:\n    app: {LONG}\n"),
        8,
        10,
        "$.metadata.labels.app",
        "label value",
    ),
    (
        "label-metadata-key-prefix",
        workspace(metadata="  labels:\n    Example.COM/app: x\n"),
        8,
        5,
        "$.metadata.labels.Example.COM/app",
        "the prefix must be a DNS subdomain",
    ),
    (
        "label-metadata-key-long",
        workspace(metadata=f"  labels:\n    {LONG}: x\n"),
        8,
        5,
        f"$.metadata.labels.{LONG}",
        "1-63 characters",
    ),
    (
        "label-workload-key",
        setting(workload_labels="-app: eastwest-gateway"),
        13,
        11,
        "$.spec.defaultEastWestGatewaySettings[0].workloadSelector.labels.-app",
        'label key "-app"',
    ),
    (
        "label-workload-value",
        setting(workload_labels="app: east/west"),
        13,
        16,
        "$.spec.defaultEastWestGatewaySettings[0].workloadSelector.labels.app",
        'label value "east/west"',
    ),
    (
        "label-service-key",
        setting(service_labels="a/b/c: details"),
        16,
        13,
        "$.spec.defaultEastWestGatewaySettings[0].exposedServices[0].serviceLabels.a/b/c",
        'label key "a/b/c"',
    ),
    (
        "label-service-value",
        setting(service_labels='app: "det ails"'),
        16,
        18,
        "$.spec.defaultEastWestGatewaySettings[0].exposedServices[0].serviceLabels.app",
        'label value "det ails"',
    ),
    (
        "gateway-namespace",
        setting(namespace="Book_Info"),
        11,
        20,
        "$.spec.defaultEastWestGatewaySettings[0].workloadSelector.namespace",
        "not a valid namespace name",
    ),
    # cluster-external-addresses
    (
        "addresses-ip-and-dns",
        gateway("1.2.3.4,gw.example.com"),
        11,
        52,
        "$.spec.kubeSpec.service.annotations.xcp.tetrate.io/cluster-external-addresses",
        "not several names or a mix",
    ),
    (
        "addresses-two-dns",
        gateway("a.example.com, b.example.com"),
        11,
        52,
        "$.spec.kubeSpec.service.annotations.xcp.tetrate.io/cluster-external-addresses",
        "not several names or a mix",
    ),
    (
        "addresses-garbage",
        gateway("gw_1!"),
        11,
        52,
        "$.spec.kubeSpec.service.annotations.xcp.tetrate.io/cluster-external-addresses",
        '"gw_1!" is neither an IP address nor a DNS name',
    ),
    # across documents
    (
        "second-setting",
        setting() + "---\n" + setting().replace("name: s\n", "name: t\n"),
        21,
        9,
        "$.metadata.name",
        'already has a WorkspaceSetting "s"',
    ),
    (
        "same-object-twice",
        ORGANIZATION + "---\n" + ORGANIZATION,
        9,
        9,
        "$.metadata.name",
        "organizations/tse is defined twice",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "column", "path", "message"),
    [case[1:] for case in BROKEN],
    ids=[case[0] for case in BROKEN],
)
def test_broken_input(text, line, column, path, message):
    problems = check_text(text)
    assert len(problems) == 1, "\n".join(str(p) for p in problems)
    problem = problems[0]
    assert problem.position.file == "in.yaml"
    if line is not None:
        assert (problem.position.line, problem.position.column) == (line, column), str(problem)
    else:  # alias expansion: somewhere in the file, but positioned
        assert problem.position.line >= 1 and problem.position.column >= 1
    assert problem.path == path
    assert message in problem.message, str(problem)


def test_problems_name_the_object():
    [problem] = check_text(workspace(spec="  displayName: 5\n"))
    assert (problem.kind, problem.name) == ("Workspace", "bookinfo-ws")
    assert str(problem) == (
        "in.yaml:11:16: Workspace bookinfo-ws: $.spec.displayName: expected string, got integer 5"
    )


def test_unknown_field_suggests_the_close_one():
    [problem] = check_text(workspace(spec="  displayname: x\n"))
    assert "displayName" in problem.hint


def test_same_object_twice_points_at_the_first():
    [problem] = check_text(ORGANIZATION + "---\n" + ORGANIZATION)
    assert "in.yaml:1:1" in problem.hint


def test_several_problems_in_one_document_are_all_reported():
    text = workspace('"bookinfo"', metadata="  bogus: 1\n", spec="  displayName: 5\n")
    problems = check_text(text)
    assert where(problems) == [(7, 3), (11, 9), (12, 16)]
    assert {p.path for p in problems} >= {
        "$.metadata.bogus",
        "$.spec.namespaceSelector.names[0]",
        "$.spec.displayName",
    }


def test_problems_are_sorted_in_input_order_across_files(tmp_path):
    first = tmp_path / "z-first.yaml"  # given first on purpose, though it sorts last by name
    second = tmp_path / "a-second.yaml"
    third = tmp_path / "m-third.yaml"
    first.write_text(
        workspace('"bookinfo"', spec="  displayName: 5\n") + "---\n" + ORGANIZATION + "extra: 1\n"
    )
    second.write_text(ORGANIZATION)  # same object as in `first`: reported here, in the second file
    third.write_bytes(b"name: caf\xe9\n")  # not UTF-8, at the é
    loaded = load([str(first), str(second), str(third)])
    problems = validate(loaded)
    assert [(Path(p.position.file).name, p.position.line, p.position.column) for p in problems] == [
        ("z-first.yaml", 10, 9),
        ("z-first.yaml", 11, 16),
        ("z-first.yaml", 17, 1),
        ("a-second.yaml", 4, 9),
        ("m-third.yaml", 1, 10),
    ]


def test_a_read_problem_does_not_hide_the_problems_of_other_files(tmp_path):
    (tmp_path / "a.yaml").write_bytes(b"kind: \xff\n")  # not UTF-8
    (tmp_path / "b.yaml").write_text(ORGANIZATION + "extra: 1\n")
    problems = validate(load([str(tmp_path)]))
    assert [(Path(p.position.file).name, p.position.line) for p in problems] == [("a.yaml", 1), ("b.yaml", 5)]


# --- the semantic helpers on their own ----------------------------------------------------------------


@pytest.mark.parametrize("entry", ["*/bookinfo", "*/*", "c/ns*", "cluster-1/ns", "*/a"])
def test_selector_error_accepts(entry):
    assert semantic.selector_error(entry) == ""


@pytest.mark.parametrize(
    "entry",
    [
        "bookinfo",
        "a/b/c",
        "*/Bad",
        "*/a*b",
        "x*/ns",
        "a*b/ns",
        "/ns",
        "c/",
        "*/-ns",
        "* /ns",
        "*/" + "a" * 64,
    ],
)
def test_selector_error_refuses(entry):
    assert semantic.selector_error(entry) != ""


@pytest.mark.parametrize("key", ["app", "app.kubernetes.io/name", "a_b", "A9", "x" * 63])
def test_label_key_accepts(key):
    assert semantic.label_key_error(key) == ""


@pytest.mark.parametrize("key", ["", "-a", "a-", "a b", "/a", "a/", "Example.com/a", "x" * 64, "a/b/c"])
def test_label_key_refuses(key):
    assert semantic.label_key_error(key) != ""


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("", True),
        ("a", True),
        ("a.b_c-d", True),
        ("-a", False),
        ("a b", False),
        ("x" * 64, False),
        ("x" * 63, True),
    ],
)
def test_label_value(value, ok):
    assert (semantic.label_value_error(value) == "") is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("1.2.3.4", True),
        ("1.2.3.4,5.6.7.8", True),
        (" 1.2.3.4 , 5.6.7.8 ", True),
        ("gw.example.com", True),
        ("::1", True),
        ("1.2.3.4,gw.example.com", False),
        ("a.example.com,b.example.com", False),
        ("gw_1", False),
        ("", False),
        ("1.2.3.4,", False),
        ("::ffff:10.0.0.1, 10.0.0.2", True),
        ("not_an_ip,also", False),
        ("gateway", False),
        ("GW.Example.com.", True),
    ],
)
def test_external_addresses(value, ok):
    assert (semantic.external_addresses_error(value) == "") is ok

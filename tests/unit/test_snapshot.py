"""Snapshot fleet folders: reading what `kubectl get -o yaml` prints, writing, and round trips."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tctl_py.errors import InvalidInput, UsageError
from tctl_py.fleet.snapshot import CLUSTERS_FILE, read_snapshot, snapshot_documents, write_snapshot
from tctl_py.mesh.model import ClusterState

ROOT = Path(__file__).resolve().parents[2]

MULTI_DOC = """\
apiVersion: v1
kind: Namespace
metadata:
  name: bookinfo
  creationTimestamp: 2024-05-01T10:00:00Z
---
apiVersion: v1
kind: Service
metadata:
  name: details
  namespace: bookinfo
  labels: {app: details}
  managedFields:
  - manager: kubectl
    operation: Update
spec:
  selector: {app: details}
  ports: [{name: http, port: 9080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: details-v1, namespace: bookinfo}
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: knative-thing, namespace: bookinfo}
---
"""

KIND_LIST = """\
apiVersion: v1
kind: List
metadata:
  resourceVersion: ""
items:
- apiVersion: v1
  kind: Service
  metadata: {name: reviews, namespace: bookinfo}
  spec: {ports: [{port: 9080}]}
- apiVersion: networking.istio.io/v1beta1
  kind: DestinationRule
  metadata: {name: reviews, namespace: bookinfo}
  spec: {host: reviews.bookinfo.svc.cluster.local}
- apiVersion: v1
  kind: Secret
  metadata: {name: token, namespace: bookinfo}
  data: {token: c2VjcmV0}
"""

# The raw API's typed list: items carry neither apiVersion nor kind.
SERVICE_LIST_JSON = {
    "apiVersion": "v1",
    "kind": "ServiceList",
    "metadata": {"resourceVersion": "42"},
    "items": [
        {"metadata": {"name": "ratings", "namespace": "bookinfo"}, "spec": {"ports": [{"port": 9080}]}}
    ],
}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def names(objects) -> list[str]:
    return [f"{o['metadata'].get('namespace', '')}/{o['metadata']['name']}" for o in objects]


@pytest.fixture
def fleet_dir(tmp_path: Path) -> Path:
    root = tmp_path / "fleet"
    write(root / "west" / "all.yaml", MULTI_DOC)
    write(root / "west" / "more" / "list.yml", KIND_LIST)
    write(root / "west" / "raw.json", json.dumps(SERVICE_LIST_JSON))
    write(root / "east" / "namespaces.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")
    write(root / ".git" / "junk.yaml", "not: [a cluster")  # hidden folders are not clusters
    write(root / "README.md", "top-level files are ignored")
    (root / "empty").mkdir()
    return root


def test_reads_multi_doc_lists_and_typed_lists(fleet_dir):
    states = read_snapshot(fleet_dir)
    assert [s.name for s in states] == ["east", "empty", "west"]
    east, empty, west = states
    assert names(east.namespaces) == ["/shop"] and east.services == ()
    assert empty == ClusterState(name="empty")
    assert names(west.namespaces) == ["/bookinfo"]
    # sorted by namespace/name; the knative Service, Deployment and Secret are not kept
    assert names(west.services) == ["bookinfo/details", "bookinfo/ratings", "bookinfo/reviews"]
    assert names(west.destination_rules) == ["bookinfo/reviews"]
    ratings = west.services[1]
    assert (ratings["apiVersion"], ratings["kind"]) == ("v1", "Service")  # filled in from ServiceList
    details = west.services[0]
    assert "managedFields" not in details["metadata"]
    assert west.namespaces[0]["metadata"]["creationTimestamp"] == "2024-05-01T10:00:00Z"  # text, not datetime
    assert all(s.reachable and s.server == "" for s in states)


def test_every_problem_of_every_file_is_reported(tmp_path):
    root = tmp_path / "fleet"
    write(root / "a" / "broken.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: x\n")
    write(root / "a" / "nons.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: lost}\n")
    write(root / "b" / "one.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: dup}\n")
    write(root / "b" / "two.yaml", "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: dup}\n")
    write(root / "b" / "bad.json", '{"kind": "List", "items": [}')
    write(root / "b" / "scalar.yaml", "just a string\n---\n- a list\n")
    write(root / "b" / "nokind.yaml", "metadata: {name: x}\n")
    with pytest.raises(InvalidInput) as caught:
        read_snapshot(root)
    text = [str(p) for p in caught.value.problems]
    assert len(text) == 7, text
    assert any("broken.yaml:4:1" in t and "YAML syntax error" in t for t in text)
    assert any("nons.yaml:1:1" in t and "no metadata.namespace" in t for t in text)
    assert any(
        "two.yaml:2:1" in t and 'Namespace "dup" appears twice' in t and "one.yaml:1:1" in t for t in text
    )
    assert any("bad.json:1:" in t and "invalid JSON" in t for t in text)
    assert sum("expected a Kubernetes object" in t for t in text) == 2  # the string and the list
    assert any("nokind.yaml" in t and "no kind" in t for t in text)


def test_names_an_api_server_would_refuse_are_problems_at_their_position(tmp_path):
    write(
        tmp_path / "c" / "objects.yaml",
        """\
apiVersion: v1
kind: Service
metadata: {name: details, namespace: ../evil}
---
apiVersion: v1
kind: Service
metadata:
  name: Details_v1
  namespace: bookinfo
---
apiVersion: v1
kind: Namespace
metadata: {name: /etc}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: a/b, namespace: bookinfo}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: details.bookinfo, namespace: bookinfo}
""",
    )
    with pytest.raises(InvalidInput) as caught:
        read_snapshot(tmp_path)
    text = [str(p) for p in caught.value.problems]
    path = tmp_path / "c" / "objects.yaml"
    label = "a DNS-1123 label (lowercase letters, digits and '-', alphanumeric at both ends, at most 63 characters)"
    subdomain = "a DNS-1123 subdomain (DNS-1123 labels joined by '.', at most 253 characters)"
    assert text == [
        f'{path}:3:38: Service details: metadata.namespace "../evil" is not a valid namespace name: {label}',
        f'{path}:8:9: Service Details_v1: metadata.name "Details_v1" is not a valid Service name: {label}',
        f'{path}:13:18: Namespace /etc: metadata.name "/etc" is not a valid Namespace name: {label}',
        f'{path}:17:18: DestinationRule a/b: metadata.name "a/b" is not a valid DestinationRule name: {subdomain}',
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "clusters:\n- {folder: a, name: x}\n- {folder: gone, name: y}\n",
            ':3:12: folder "gone" is not a cluster folder of',
        ),
        ("clusters:\n- {folder: a, name: x}\n- {folder: a, name: y}\n", ':3:12: folder "a" is listed twice'),
        (
            "clusters:\n- {folder: a, name: x}\n- {folder: b, name: x}\n",
            ':3:21: cluster name "x" is given twice (first at ',
        ),
        ("clusters:\n- {folder: a, name: b}\n", ':2:21: cluster name "b" is given twice: the folder "b"'),
        ("clusters:\n- {folder: a}\n", ":2:3: expected {folder: <folder>, name: <cluster name>}"),
        ("clusters:\n- {folder: a, name: ''}\n", ":2:3: expected {folder: <folder>, name: <cluster name>}"),
        ("- {folder: a, name: x}\n", ":1:1: expected one mapping with a `clusters:` list"),
        ("clusters: [\n", ":2:1: YAML syntax error"),
    ],
)
def test_a_clusters_file_that_cannot_be_right_is_refused_with_its_position(tmp_path, text, expected):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    write(tmp_path / CLUSTERS_FILE, text)
    with pytest.raises(InvalidInput) as caught:
        read_snapshot(tmp_path)
    (problem,) = caught.value.problems
    assert str(problem).startswith(f"{tmp_path / CLUSTERS_FILE}{expected}"), problem
    with pytest.raises(InvalidInput):  # nor is a snapshot written over it
        write_snapshot([_state("c/d", [])], tmp_path)
    assert not (tmp_path / "c%2Fd").exists()


def test_a_clusters_file_renames_the_folders_it_lists(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    write(tmp_path / CLUSTERS_FILE, "clusters:\n- {folder: a, name: arn:aws:eks:x:1:cluster/a}\n")
    assert [s.name for s in read_snapshot(tmp_path)] == ["arn:aws:eks:x:1:cluster/a", "b"]


def test_missing_or_empty_fleet_folder_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        read_snapshot(tmp_path / "nope")
    with pytest.raises(UsageError, match="no cluster folders"):
        read_snapshot(tmp_path)
    write(tmp_path / "file", "x")
    with pytest.raises(UsageError, match="not a folder"):
        read_snapshot(tmp_path / "file")


def test_the_example_fleet_reads():
    states = read_snapshot(ROOT / "examples" / "bookinfo" / "fleet")
    assert [s.name for s in states] == ["cluster-1", "cluster-2", "cluster-3"]
    assert all(s.namespaces and s.services for s in states)


# -- writing ---------------------------------------------------------------------------------------


def _state(name: str, services: list[dict], **kwargs) -> ClusterState:
    return ClusterState(name=name, services=tuple(services), **kwargs)


def _svc(ns: str, name: str, **meta) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns, **meta},
        "spec": {"ports": [{"port": 80}]},
    }


def test_round_trip_gives_identical_states(fleet_dir, tmp_path):
    states = read_snapshot(fleet_dir)
    out = tmp_path / "copy"
    written = write_snapshot(states, out)
    assert sorted(p.relative_to(out).as_posix() for p in written) == sorted(
        f"{c}/{f}"
        for c in ("east", "empty", "west")
        for f in ("namespaces.yaml", "services.yaml", "destinationrules.yaml")
    )
    assert read_snapshot(out) == states


def test_output_is_deterministic_sorted_and_clean(tmp_path):
    a = _svc("b", "z", managedFields=[{"manager": "x"}])
    b = _svc("a", "y", labels={"z": "1", "a": "2"})
    first = snapshot_documents(_state("c", [a, b]))
    second = snapshot_documents(_state("c", [b, a]))
    assert first == second
    doc = yaml.safe_load(first["services.yaml"])
    assert doc["kind"] == "List" and doc["apiVersion"] == "v1"
    assert names(doc["items"]) == ["a/y", "b/z"]
    assert "managedFields" not in first["services.yaml"]
    assert first["services.yaml"].index("apiVersion") < first["services.yaml"].index("items")
    write_snapshot([_state("c", [a, b])], tmp_path / "1")
    write_snapshot([_state("c", [b, a])], tmp_path / "2")
    for name in first:
        assert (tmp_path / "1" / "c" / name).read_bytes() == (tmp_path / "2" / "c" / name).read_bytes()


def test_secrets_and_unreachable_clusters_are_never_written(tmp_path):
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "t", "namespace": "a"},
        "data": {"token": "c2VjcmV0"},
    }
    states = [
        _state("ok", [_svc("a", "s"), secret]),
        ClusterState(name="down", reachable=False, error="connection refused"),
    ]
    write_snapshot(states, tmp_path)
    assert not (tmp_path / "down").exists()
    text = "".join(p.read_text() for p in (tmp_path / "ok").iterdir())
    assert "Secret" not in text and "c2VjcmV0" not in text
    assert oct((tmp_path / "ok" / "services.yaml").stat().st_mode & 0o777) == "0o644"
    assert not [p for p in (tmp_path / "ok").iterdir() if p.name.startswith(".")]  # no temp files


# Context names that cannot be folder names as they are; each folder is named in CLUSTERS_FILE.
ENCODED = {
    "arn:aws:eks:us-east-1:123456789012:cluster/prod": "arn:aws:eks:us-east-1:123456789012:cluster%2Fprod",
    "/tmp/x": "%2Ftmp%2Fx",
    "../x": "%2E.%2Fx",
    "..": "%2E.",
    ".hidden": "%2Ehidden",
    "my cluster": "my%20cluster",
}


def test_names_that_cannot_be_folders_are_encoded_and_keep_their_names(tmp_path):
    states = [_state(name, [_svc("a", "s")]) for name in [*ENCODED, "cluster-1"]]
    out = tmp_path / "snap"
    write_snapshot(states, out)
    assert sorted(p.name for p in out.iterdir()) == sorted([*ENCODED.values(), "cluster-1", CLUSTERS_FILE])
    assert yaml.safe_load((out / CLUSTERS_FILE).read_text()) == {
        "clusters": [
            {"folder": folder, "name": name} for name, folder in sorted(ENCODED.items(), key=lambda i: i[1])
        ]
    }
    assert read_snapshot(out) == sorted(states, key=lambda s: s.name)


def test_a_snapshot_of_plain_names_has_no_clusters_file(tmp_path):
    write_snapshot([_state("cluster-1", []), _state("user@prod", [])], tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cluster-1", "user@prod"]
    assert not (ROOT / "examples" / "bookinfo" / "fleet" / CLUSTERS_FILE).exists()


def test_writing_again_keeps_the_folders_and_names_of_clusters_not_written(tmp_path):
    arn = "arn:aws:eks:us-east-1:1:cluster/a"
    write_snapshot([_state(arn, [_svc("a", "s")]), _state("b", [])], tmp_path)
    # the ARN cluster is down this time: its folder and its name stay
    write_snapshot(
        [ClusterState(name=arn, reachable=False), _state("b", [_svc("b", "t")]), _state("c/d", [])], tmp_path
    )
    states = {s.name: s for s in read_snapshot(tmp_path)}
    assert sorted(states) == [arn, "b", "c/d"]
    assert names(states[arn].services) == ["a/s"] and names(states["b"].services) == ["b/t"]


def test_writing_into_a_folder_updates_an_old_snapshot_in_place(tmp_path):
    write(tmp_path / "my cluster" / "services.yaml", "kind: List\nitems: []\n")  # no clusters file
    write_snapshot([_state("my cluster", [_svc("a", "s")])], tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["my cluster"]
    assert [s.name for s in read_snapshot(tmp_path)] == ["my cluster"]


def test_empty_or_too_long_names_are_refused_before_writing(tmp_path):
    for bad in ("", "/" * 100):
        with pytest.raises(UsageError):
            write_snapshot([_state("fine", []), _state(bad, [])], tmp_path)
        assert not (tmp_path / "fine").exists()


def test_a_link_inside_the_snapshot_folder_is_not_followed_outside(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "snap"
    out.mkdir()
    (out / "c").symlink_to(outside)
    with pytest.raises(UsageError, match="leads outside"):
        write_snapshot([_state("c", [_svc("a", "s")])], out)
    assert list(outside.iterdir()) == []


def test_duplicate_cluster_names_are_refused(tmp_path):
    with pytest.raises(UsageError, match="more than once"):
        write_snapshot([_state("x", []), _state("x", [])], tmp_path)


# -- property: any states the reader could produce survive a write and a read ----------------------

label_text = st.text(alphabet="abcxyz0123456789-.", min_size=1, max_size=8).filter(
    lambda s: s[0].isalnum() and s[-1].isalnum()
)
tricky_values = st.one_of(
    label_text,
    st.sampled_from(
        [
            "yes",
            "no",
            "on",
            "1.0",
            "0x1F",
            "null",
            "~",
            "2024-01-01",
            "12:30",
            "'quoted'",
            "a: b",
            "- x",
            "#x",
            "",
            " lead",
            "é✓",
        ]
    ),
)
dns_name = st.from_regex(r"[a-z]([-a-z0-9]{0,6}[a-z0-9])?", fullmatch=True)


@st.composite
def cluster_states(draw) -> ClusterState:
    namespaces = sorted(draw(st.sets(dns_name, max_size=3)))
    services = {}
    for ns in namespaces:
        for name in draw(st.sets(dns_name, max_size=3)):
            services[(ns, name)] = {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {
                    "name": name,
                    "namespace": ns,
                    "labels": draw(st.dictionaries(label_text, tricky_values, max_size=3)),
                    "annotations": draw(st.dictionaries(label_text, tricky_values, max_size=2)),
                },
                "spec": {
                    "ports": [{"port": draw(st.integers(1, 65535)), "name": draw(tricky_values)}],
                    "externalIPs": draw(st.lists(st.ip_addresses(v=4).map(str), max_size=2)),
                },
                "status": {"loadBalancer": {"ingress": [{"hostname": draw(label_text)}]}},
            }
    return ClusterState(
        name=draw(dns_name),
        namespaces=tuple(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in namespaces
        ),
        services=tuple(services[key] for key in sorted(services)),
    )


@given(st.lists(cluster_states(), max_size=3, unique_by=lambda s: s.name))
@settings(max_examples=40, deadline=None)
def test_property_write_then_read_is_identity(tmp_path_factory, states):
    out = tmp_path_factory.mktemp("snap")
    write_snapshot(states, out)
    if not states:
        return
    assert read_snapshot(out) == sorted(states, key=lambda s: s.name)


def test_states_differing_only_in_server_compare_equal_after_blanking_it(fleet_dir):
    (state, *_) = read_snapshot(fleet_dir)
    live_like = dataclasses.replace(state, server="https://1.2.3.4:6443")
    assert dataclasses.replace(live_like, server="") == state

"""Kubeconfig merging by kubectl's rules, on real files (no kubernetes client involved)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tctl_py.errors import ExitCode, UsageError
from tctl_py.fleet.kubeconfig import (
    ClusterRef,
    KubeconfigError,
    kubeconfig_files,
    load_kubeconfig,
    merge_kubeconfigs,
)
from tctl_py.fleet.redaction import Redactor, kubeconfig_secrets

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-t0ken-value"


def kubeconfig(*, current=None, clusters=(), users=(), contexts=(), **extra) -> dict:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": body} for n, body in clusters],
        "users": [{"name": n, "user": body} for n, body in users],
        "contexts": [{"name": n, "context": body} for n, body in contexts],
        **extra,
    }
    if current is not None:
        doc["current-context"] = current
    return doc


def write(path: Path, doc: dict | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc), encoding="utf-8")
    return path


def env_of(*paths: Path | str) -> dict[str, str]:
    return {"KUBECONFIG": os.pathsep.join(str(p) for p in paths), "HOME": "/nonexistent-home"}


@pytest.fixture
def two_files(tmp_path: Path) -> tuple[Path, Path]:
    a = write(
        tmp_path / "a" / "config",
        kubeconfig(
            current="ctx-a",
            clusters=[
                ("shared", {"server": "https://a.example:6443", "certificate-authority": "ca.crt"}),
                ("only-a", {"server": "https://only-a.example"}),
            ],
            users=[("red-user", {"token": SECRET})],
            contexts=[
                ("ctx-a", {"cluster": "shared", "user": "red-user"}),
                ("shared-ctx", {"cluster": "only-a", "user": "red-user", "namespace": "team-a"}),
            ],
        ),
    )
    b = write(
        tmp_path / "b" / "config",
        kubeconfig(
            current="ctx-b",
            clusters=[
                ("shared", {"server": "https://b.example:6443"}),
                ("only-b", {"server": "https://only-b.example", "certificate-authority": "../b-ca.crt"}),
            ],
            users=[
                ("red-user", {"token": "second-token", "client-certificate": "cert.pem"}),
                (
                    "blue-user",
                    {
                        "client-certificate": "certs/blue.crt",
                        "client-key": "certs/blue.key",
                        "tokenFile": "tok",
                    },
                ),
            ],
            contexts=[
                ("ctx-b", {"cluster": "only-b", "user": "blue-user"}),
                ("shared-ctx", {"cluster": "only-b", "user": "blue-user"}),
            ],
        ),
    )
    return a, b


# -- which files ---------------------------------------------------------------------------------


def test_explicit_path_is_the_only_file(tmp_path, two_files):
    a, b = two_files
    files, explicit = kubeconfig_files(str(b), env=env_of(a))
    assert (files, explicit) == ([b], True)
    config = load_kubeconfig(str(b), env=env_of(a))
    assert config.files == (str(b),)
    assert config.current_context == "ctx-b"


def test_kubeconfig_variable_is_split_and_empty_entries_ignored(two_files):
    a, b = two_files
    value = f"{os.pathsep}{a}{os.pathsep}{os.pathsep}{b}{os.pathsep}"
    files, explicit = kubeconfig_files(None, env={"KUBECONFIG": value})
    assert (files, explicit) == ([a, b], False)


def test_home_config_when_nothing_else(tmp_path):
    home = tmp_path / "home"
    config_path = write(
        home / ".kube" / "config",
        kubeconfig(
            current="c", clusters=[("c", {"server": "https://c"})], contexts=[("c", {"cluster": "c"})]
        ),
    )
    files, _ = kubeconfig_files(None, env={}, home=home)
    assert files == [config_path]
    assert load_kubeconfig(env={}, home=home).names() == ["c"]


def test_no_file_anywhere_gives_an_empty_kubeconfig(tmp_path):
    config = load_kubeconfig(env={}, home=tmp_path)
    assert config.clusters == () and config.files == () and config.current_context == ""
    with pytest.raises(UsageError) as caught:
        config.get("anything")
    assert "no context" in caught.value.hint


# -- merge rules -----------------------------------------------------------------------------------


def test_first_file_wins_current_context(two_files):
    a, b = two_files
    assert load_kubeconfig(env=env_of(a, b)).current_context == "ctx-a"
    assert load_kubeconfig(env=env_of(b, a)).current_context == "ctx-b"


def test_current_context_comes_from_the_first_file_that_sets_it(tmp_path, two_files):
    a, b = two_files
    empty = write(tmp_path / "empty.yaml", kubeconfig(clusters=[("e", {"server": "https://e"})]))
    blank = write(tmp_path / "blank.yaml", "")  # an empty file is an empty kubeconfig
    assert load_kubeconfig(env=env_of(blank, empty, b, a)).current_context == "ctx-b"


def test_first_file_wins_named_entries_whole(two_files):
    a, b = two_files
    merged = load_kubeconfig(env=env_of(a, b)).config
    users = {u["name"]: u["user"] for u in merged["users"]}
    # the second red-user is dropped whole: not even its client-certificate is merged in
    assert users["red-user"] == {"token": SECRET}
    assert "blue-user" in users
    clusters = {c["name"]: c["cluster"] for c in merged["clusters"]}
    assert clusters["shared"]["server"] == "https://a.example:6443"
    assert [c["name"] for c in merged["clusters"]] == ["shared", "only-a", "only-b"]


def test_cluster_refs_in_file_order_with_first_definition(two_files):
    a, b = two_files
    config = load_kubeconfig(env=env_of(a, b))
    assert config.clusters == (
        ClusterRef("ctx-a", "https://a.example:6443", "shared", "red-user", "default", str(a)),
        ClusterRef("shared-ctx", "https://only-a.example", "only-a", "red-user", "team-a", str(a)),
        ClusterRef("ctx-b", "https://only-b.example", "only-b", "blue-user", "default", str(b)),
    )
    assert config.select(["ctx-b", "ctx-a"]) == [config.clusters[2], config.clusters[0]]


def test_context_naming_an_undefined_cluster_has_no_server(tmp_path):
    path = write(tmp_path / "c", kubeconfig(contexts=[("lost", {"cluster": "nowhere", "user": "u"})]))
    (ref,) = load_kubeconfig(str(path)).clusters
    assert (ref.name, ref.server, ref.cluster_name) == ("lost", "", "nowhere")


def test_merge_is_pure_and_does_not_touch_its_input(tmp_path):
    doc = kubeconfig(
        current="x",
        clusters=[("x", {"server": "https://x", "certificate-authority": "ca"})],
        contexts=[("x", {"cluster": "x"})],
    )
    before = yaml.safe_dump(doc)
    merged = merge_kubeconfigs([(tmp_path / "k" / "config", doc)])
    assert yaml.safe_dump(doc) == before
    assert merged["clusters"][0]["cluster"]["certificate-authority"] == str(tmp_path / "k" / "ca")
    assert merged["current-context"] == "x"


entry_names = st.sampled_from(["a", "b", "c", "d"])
file_docs = st.lists(
    st.fixed_dictionaries(
        {
            "current": st.one_of(st.none(), entry_names),
            "users": st.lists(st.tuples(entry_names, st.integers(0, 99)), max_size=4),
        }
    ),
    min_size=1,
    max_size=4,
)


@given(file_docs)
@settings(max_examples=60, deadline=None)
def test_property_the_first_file_to_set_anything_wins(files):
    documents = []
    for index, spec in enumerate(files):
        doc = kubeconfig(
            current=spec["current"], users=[(name, {"token": f"t{index}-{n}"}) for name, n in spec["users"]]
        )
        documents.append((f"/f{index}/config", doc))
    merged = merge_kubeconfigs(documents)
    expected_current = next((s["current"] for s in files if s["current"]), "")
    assert merged["current-context"] == expected_current
    expected_users: dict[str, dict] = {}
    for _, doc in documents:
        for entry in doc["users"]:
            expected_users.setdefault(entry["name"], entry["user"])
    assert {u["name"]: u["user"] for u in merged["users"]} == expected_users
    assert len(merged["users"]) == len(expected_users)  # one entry per name


# -- relative paths ---------------------------------------------------------------------------------


def test_relative_paths_resolve_against_the_file_that_named_them(two_files):
    a, b = two_files
    merged = load_kubeconfig(env=env_of(a, b)).config
    clusters = {c["name"]: c["cluster"] for c in merged["clusters"]}
    users = {u["name"]: u["user"] for u in merged["users"]}
    assert clusters["shared"]["certificate-authority"] == str(a.parent / "ca.crt")
    assert clusters["only-b"]["certificate-authority"] == str(b.parent.parent / "b-ca.crt")
    assert users["blue-user"] == {
        "client-certificate": str(b.parent / "certs" / "blue.crt"),
        "client-key": str(b.parent / "certs" / "blue.key"),
        "tokenFile": str(b.parent / "tok"),
    }


def test_absolute_paths_and_exec_commands_on_path_are_kept(tmp_path):
    path = write(
        tmp_path / "conf" / "config",
        kubeconfig(
            users=[
                ("abs", {"client-key": "/etc/keys/k.pem"}),
                ("aws", {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "aws"}}),
                (
                    "local",
                    {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "./bin/auth"}},
                ),
            ]
        ),
    )
    users = {u["name"]: u["user"] for u in load_kubeconfig(str(path)).config["users"]}
    assert users["abs"]["client-key"] == "/etc/keys/k.pem"
    assert users["aws"]["exec"]["command"] == "aws"
    assert users["local"]["exec"]["command"] == str(tmp_path / "conf" / "bin" / "auth")


def test_relative_kubeconfig_path_still_gives_absolute_paths(tmp_path, monkeypatch):
    write(
        tmp_path / "k" / "config",
        kubeconfig(clusters=[("x", {"server": "https://x", "certificate-authority": "ca.pem"})]),
    )
    monkeypatch.chdir(tmp_path)
    merged = load_kubeconfig("k/config").config
    assert merged["clusters"][0]["cluster"]["certificate-authority"] == str(tmp_path / "k" / "ca.pem")


# -- missing and broken files -----------------------------------------------------------------------


def test_missing_file_in_kubeconfig_variable_is_skipped(tmp_path, two_files):
    a, _ = two_files
    config = load_kubeconfig(env=env_of(tmp_path / "missing", a, tmp_path / "also-missing"))
    assert config.files == (str(a),)
    assert config.current_context == "ctx-a"


def test_missing_explicit_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError) as caught:
        load_kubeconfig(str(tmp_path / "nope"), env={})
    assert caught.value.exit_code == ExitCode.USAGE
    assert "nope" in caught.value.message


def test_unparsable_file_names_the_file_and_position_but_not_the_line(tmp_path, two_files):
    a, _ = two_files
    broken = write(
        tmp_path / "broken.yaml",
        "apiVersion: v1\nusers:\n- name: u\n  user:\n    token: " + SECRET + ": [oops\n",
    )
    with pytest.raises(KubeconfigError) as caught:
        load_kubeconfig(env=env_of(a, broken))
    error = caught.value
    assert error.exit_code == ExitCode.INVALID
    assert str(broken) in error.message and ":5:" in error.message
    assert SECRET not in error.message and SECRET not in str(error) and SECRET not in repr(error)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("- just\n- a list\n", "is not a mapping"),
        ("users: {red-user: {token: x}}\n", "users must be a list"),
        (f"users:\n- user: {{token: {SECRET}}}\n", "users[0] has no name"),
        (f"clusters:\n- name: c\n  cluster: {SECRET}\n", 'clusters[0] ("c"): cluster must be a mapping'),
        ("current-context: [a]\n", "current-context must be a string"),
    ],
)
def test_malformed_files_are_reported_without_values(tmp_path, text, fragment):
    path = write(tmp_path / "config", text)
    with pytest.raises(KubeconfigError) as caught:
        load_kubeconfig(str(path))
    assert fragment in caught.value.message and str(path) in caught.value.message
    assert SECRET not in caught.value.message


def test_unreadable_bytes_and_folders_are_errors(tmp_path):
    binary = tmp_path / "bin"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(KubeconfigError, match=f"{binary}:1:1: UTF-16 text"):
        load_kubeconfig(str(binary))
    binary.write_bytes(b"users: \xe9t\xe9\n")
    with pytest.raises(KubeconfigError, match=f"{binary}:1:8: not UTF-8"):
        load_kubeconfig(str(binary))
    with pytest.raises(KubeconfigError, match="is a folder"):
        load_kubeconfig(str(tmp_path))


# -- credentials stay hidden ----------------------------------------------------------------------


def test_no_credentials_in_reprs_or_lookups(two_files):
    a, b = two_files
    config = load_kubeconfig(env=env_of(a, b))
    assert SECRET not in repr(config)
    assert all(SECRET not in repr(ref) for ref in config.clusters)
    with pytest.raises(UsageError) as caught:
        config.get("unknown")
    assert SECRET not in caught.value.message + caught.value.hint
    assert "ctx-a" in caught.value.hint


def test_user_info_in_a_server_url_is_never_shown(tmp_path):
    path = write(
        tmp_path / "c",
        kubeconfig(
            clusters=[("x", {"server": f"https://admin:{SECRET}@k8s:6443"})],
            contexts=[("x", {"cluster": "x"})],
        ),
    )
    (ref,) = load_kubeconfig(str(path)).clusters
    assert ref.server == "https://k8s:6443"


def test_secrets_are_found_and_redacted(two_files):
    a, b = two_files
    config = load_kubeconfig(env=env_of(a, b)).config
    assert kubeconfig_secrets(config) == {SECRET}
    redactor = Redactor()
    redactor.add_kubeconfig(config)
    assert redactor(f"failed with Bearer {SECRET}") == "failed with Bearer REDACTED"


# -- startup cost ---------------------------------------------------------------------------------


def test_importing_the_fleet_package_does_not_import_kubernetes():
    code = (
        "import sys, tctl_py.fleet, tctl_py.fleet.kubeconfig, tctl_py.fleet.snapshot, "
        "tctl_py.fleet.live, tctl_py.fleet.client, tctl_py.fleet.loader, tctl_py.fleet.parallel; "
        "from tctl_py.fleet import ClusterClient, run_per_cluster, resource_for; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'urllib3')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
    bare = subprocess.run(
        [sys.executable, "-c", "import sys, tctl_py.fleet; print('yaml' in sys.modules)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert bare.stdout.strip() == "False"  # the package itself loads nothing until used

"""How tctl reaches a context (`fleet/connection.py`): tokens, token files and client
certificates read as kubectl reads them, without importing the official client; exec plugins
through it. tctl runs as a real process against emulated clusters."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.cli.test_startup import probe
from tests.support import EmulatedFleet, namespace

HEAVY = ("kubernetes", "urllib3")


def _kubeconfig(emulated: EmulatedFleet, tmp_path, users: dict[str, dict]) -> str:
    """The emulated fleet's kubeconfig, the users of some contexts replaced."""
    config = yaml.safe_load(emulated.write_kubeconfig().read_text())
    replaced = {f"{context}-admin": user for context, user in users.items()}  # the harness's names
    for entry in config["users"]:
        entry["user"] = replaced.pop(entry["name"], entry["user"])
    assert not replaced
    path = tmp_path / "kubeconfig.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture()
def two_clusters(emulated: EmulatedFleet):
    plain = emulated.add_cluster("plain", objects=[namespace("shop")])
    secure = emulated.add_cluster("secure", objects=[namespace("shop")], tls=True)
    return plain, secure


def test_tokens_token_files_and_client_certificates_need_not_the_official_client(
    emulated, two_clusters, tmp_path, monkeypatch
):
    plain, secure = two_clusters
    token_file = tmp_path / "token"
    token_file.write_text(plain.token + "\n")  # as `echo $TOKEN > file` writes it: kubectl trims it
    kubeconfig = _kubeconfig(emulated, tmp_path, {"plain": {"tokenFile": str(token_file)}})
    monkeypatch.setenv("KUBECONFIG", kubeconfig)
    report = probe(tmp_path, "clusters", "-o", "json")
    assert report["code"] == 0
    assert not [m for m in report["modules"] if m.split(".")[0] in HEAVY]
    assert plain.counts["GET"] >= 3 and secure.counts["GET"] >= 3  # both read: credentials taken


def test_an_exec_plugin_is_run_by_the_official_client(emulated, two_clusters, tmp_path, monkeypatch):
    plain, _ = two_clusters
    plugin = tmp_path / "plugin.sh"
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "kind": "ExecCredential",
        "status": {"token": plain.token},
    }
    plugin.write_text(f"#!/bin/sh\necho '{json.dumps(credential)}'\n")
    plugin.chmod(0o755)
    exec_user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(plugin)}}
    monkeypatch.setenv("KUBECONFIG", _kubeconfig(emulated, tmp_path, {"plain": exec_user}))
    report = probe(tmp_path, "clusters", "-o", "json")
    assert report["code"] == 0
    assert "kubernetes" in report["modules"]
    assert plain.counts["GET"] >= 3


def test_a_token_file_that_cannot_be_read_is_the_contexts_error(emulated, two_clusters, tmp_path, tctl):
    missing = tmp_path / "no-such-token"
    kubeconfig = _kubeconfig(emulated, tmp_path, {"plain": {"tokenFile": str(missing)}})
    ran = tctl("--kubeconfig", kubeconfig, "clusters")
    assert ran.exit_code == 4, ran.stderr
    assert f'cannot configure a client for context "plain": cannot read the tokenFile {missing}' in ran.stderr


def test_a_token_with_a_line_break_is_the_clusters_error_and_is_not_printed(
    emulated, two_clusters, tmp_path, tctl
):
    secret = "tok-secret-4e5f6a\nX-Injected: 1"
    kubeconfig = _kubeconfig(emulated, tmp_path, {"plain": {"token": secret}})
    ran = tctl("--kubeconfig", kubeconfig, "clusters")
    assert ran.exit_code == 4, ran.stderr
    assert "the Authorization header holds a line break" in ran.stderr
    assert "tok-secret-4e5f6a" not in ran.stdout + ran.stderr
    assert two_clusters[0].counts["GET"] == 0  # nothing was sent

"""How tctl reaches a context (`fleet/connection.py`): tokens, token files and client
certificates read as kubectl reads them, without importing the official client; exec plugins
through it, and asked again when the server refuses what they gave. tctl runs as a real process
against emulated clusters, or its client in this one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.cli.test_startup import probe
from tests.support import EmulatedFleet, exec_plugin_user, namespace

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


def _lists_across_a_refusal(emulated, tmp_path, context: str, user: dict, refuse) -> None:
    """As `user`, list the namespaces of `context`; `refuse()` the credentials the plugin gave
    (it gives new ones from then on); list again: the plugin ran twice, the list was sent again."""
    from tctl_py.fleet.client import ClusterClient
    from tctl_py.fleet.objects import NAMESPACES

    config = yaml.safe_load(Path(_kubeconfig(emulated, tmp_path, {context: user})).read_text())
    with ClusterClient(config, context) as client:
        assert [n["metadata"]["name"] for n in client.list(NAMESPACES)] == ["shop"]
        refuse()
        assert [n["metadata"]["name"] for n in client.list(NAMESPACES)] == ["shop"]
    assert (tmp_path / "runs").read_text().count("run") == 2
    lists = [r for r in emulated[context].request_log if r["path"] == "/api/v1/namespaces"]
    assert len(lists) == 3  # the first list; the second refused, then sent again


def test_an_exec_plugins_token_refused_by_the_server_is_asked_for_again(emulated, two_clusters, tmp_path):
    """The official client runs the plugin again only once the token it gave has expired; a
    token refused before (revoked, rotated, no expiry given) is asked for again, as kubectl
    does, and the request sent once more."""
    plain, _ = two_clusters
    user, status = exec_plugin_user(tmp_path)
    status.write_text(json.dumps({"token": plain.token}))

    def refuse() -> None:
        status.write_text(json.dumps({"token": "rotated-token"}))
        plain.emulator.token = "rotated-token"

    _lists_across_a_refusal(emulated, tmp_path, "plain", user, refuse)


def test_an_exec_plugins_client_certificate_refused_by_the_server_is_asked_for_again(
    emulated, two_clusters, tmp_path
):
    """The official client never runs the plugin again for a client certificate; tctl does
    once the server refuses the one it has, and opens new connections with the new one."""
    _, secure = two_clusters
    secure.emulator.token = None  # the client certificate is the credential
    tls = emulated.tls
    tls.issue("client-renewed")
    user, status = exec_plugin_user(tmp_path)

    def certificate(name: str) -> str:
        return json.dumps(
            {
                "clientCertificateData": (tls.folder / f"{name}.crt").read_text(),
                "clientKeyData": (tls.folder / f"{name}.key").read_text(),
            }
        )

    status.write_text(certificate("client"))

    def refuse() -> None:
        status.write_text(certificate("client-renewed"))
        secure.emulator.refused_clients = frozenset({"tctl-test-client"})  # revoked

    _lists_across_a_refusal(emulated, tmp_path, "secure", user, refuse)


def test_a_plugin_that_fails_when_asked_again_is_the_requests_error(emulated, two_clusters, tmp_path):
    from tctl_py.fleet.client import ClusterClient, ClusterRequestError
    from tctl_py.fleet.objects import NAMESPACES

    plain, _ = two_clusters
    user, status = exec_plugin_user(tmp_path)
    status.write_text(json.dumps({"token": plain.token}))
    config = yaml.safe_load(Path(_kubeconfig(emulated, tmp_path, {"plain": user})).read_text())
    with ClusterClient(config, "plain") as client:
        client.list(NAMESPACES)
        status.unlink()  # the plugin fails from now on
        plain.emulator.token = "rotated-token"
        with pytest.raises(ClusterRequestError) as refused:
            client.list(NAMESPACES)
    assert refused.value.status == 401
    assert refused.value.message.startswith(
        f"HTTP 401 Unauthorized from {plain.server} (listing namespaces), and asking for new credentials "
        'failed: cannot configure a client for context "plain": the exec credential plugin failed'
    ), refused.value.message

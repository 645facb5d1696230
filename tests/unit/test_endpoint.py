"""Reading a context as kubectl does (`fleet/connection.py`): TLS, credentials, proxies.
Pure: no cluster is reached."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tctl_py.errors import ClusterError
from tctl_py.fleet.connection import bypasses_proxy, endpoint_for


def kubeconfig(server: str, cluster: dict | None = None, user: dict | None = None) -> dict:
    return {
        "clusters": [{"name": "c", "cluster": {"server": server, **(cluster or {})}}],
        "users": [{"name": "u", "user": user or {}}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
    }


@pytest.fixture(autouse=True)
def no_proxy_environment(monkeypatch):
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_a_token_wins_over_a_token_file_and_over_basic_auth(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n")
    both = {"token": "inline", "tokenFile": str(token_file), "username": "u", "password": "p"}
    assert endpoint_for(kubeconfig("https://k:6443", user=both), "ctx").authorization() == "Bearer inline"
    from_file = {"tokenFile": str(token_file), "username": "u", "password": "p"}
    assert endpoint_for(kubeconfig("https://k", user=from_file), "ctx").authorization() == "Bearer from-file"
    basic = endpoint_for(kubeconfig("https://k", user={"username": "u", "password": "p:w"}), "ctx")
    assert basic.authorization() == "Basic " + base64.b64encode(b"u:p:w").decode()
    assert endpoint_for(kubeconfig("https://k"), "ctx").authorization() is None


def test_tls_settings_follow_the_kubeconfig():
    pem = base64.b64encode(b"-----BEGIN CERTIFICATE-----\n...\n").decode()
    cluster = {"certificate-authority-data": pem, "tls-server-name": "api.internal"}
    tls = endpoint_for(kubeconfig("https://10.0.0.1:6443/", cluster), "ctx").tls
    assert tls.verify and tls.server_name == "api.internal"
    assert tls.ca_file is not None and Path(tls.ca_file).read_bytes().startswith(b"-----BEGIN")
    insecure = endpoint_for(kubeconfig("https://k", {"insecure-skip-tls-verify": True}), "ctx")
    assert not insecure.tls.verify
    plain = endpoint_for(kubeconfig("http://k:8080", cluster), "ctx")  # TLS files count for https only
    assert plain.tls.ca_file is None and plain.server == "http://k:8080"


def test_key_data_that_is_not_base64_is_the_contexts_error():
    with pytest.raises(ClusterError, match='client-key-data of user "u" is not base64'):
        endpoint_for(kubeconfig("https://k", user={"client-key-data": "not base64!"}), "ctx")


def test_the_proxy_comes_from_the_cluster_or_the_environment(monkeypatch):
    monkeypatch.setenv("ALL_PROXY", "http://all.corp:3128")  # not read by kubectl either
    assert endpoint_for(kubeconfig("https://k"), "ctx").proxy is None
    monkeypatch.setenv("https_proxy", "http://lower.corp:3128")
    assert endpoint_for(kubeconfig("https://k"), "ctx").proxy.host == "lower.corp"
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")  # upper case first, as Go reads it
    monkeypatch.setenv("HTTP_PROXY", "http://plain-proxy.corp:8080")
    assert endpoint_for(kubeconfig("https://k"), "ctx").proxy.host == "proxy.corp"
    assert endpoint_for(kubeconfig("http://k"), "ctx").proxy.host == "plain-proxy.corp"
    monkeypatch.setenv("NO_PROXY", ".internal,10.0.0.0/8")
    assert endpoint_for(kubeconfig("https://api.internal:6443"), "ctx").proxy is None
    assert endpoint_for(kubeconfig("https://10.1.2.3:6443"), "ctx").proxy is None
    # the cluster's proxy-url is used as given, as kubectl does, NO_PROXY or not
    pinned = endpoint_for(kubeconfig("https://api.internal", {"proxy-url": "http://jump:3128"}), "ctx")
    assert (pinned.proxy.host, pinned.proxy.port) == ("jump", 3128)


def test_a_proxy_tctl_cannot_use_is_the_contexts_error(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "socks5://127.0.0.1:1080")
    with pytest.raises(ClusterError, match="only http:// proxies are supported"):
        endpoint_for(kubeconfig("https://k"), "ctx")


@pytest.mark.parametrize(
    ("host", "port", "no_proxy", "bypassed"),
    [
        ("api.example.com", 443, "*", True),
        ("api.example.com", 443, "api.example.com", True),
        ("api.example.com", 443, "example.com", True),
        ("api.example.com", 443, ".example.com", True),
        ("api.example.com", 443, "xample.com", False),
        ("api.example.com", 6443, "api.example.com:6443", True),
        ("api.example.com", 443, "api.example.com:6443", False),
        ("10.1.2.3", 6443, "10.0.0.0/8", True),
        ("192.168.1.1", 6443, "10.0.0.0/8", False),
        ("::1", 6443, "::1", True),
        ("API.Example.com", 443, " other.org , EXAMPLE.com ", True),
        ("api.example.com", 443, "", False),
    ],
)
def test_no_proxy_matches_as_kubectl_does(host, port, no_proxy, bypassed):
    assert bypasses_proxy(host, port, no_proxy) is bypassed


def _replace_as_the_kubelet_does(folder: Path, token: str, generation: int) -> None:
    """A projected volume's update: the new content in a new directory, then `..data` swapped
    to it in one rename; `token` is a symlink through `..data`."""
    fresh = folder / f"..{generation}"
    fresh.mkdir()
    (fresh / "token").write_text(token)
    (folder / "..data_tmp").symlink_to(fresh.name)
    (folder / "..data_tmp").rename(folder / "..data")
    if not (folder / "token").is_symlink():
        (folder / "token").symlink_to("..data/token")


def test_a_token_file_is_read_again_when_it_changes_and_the_last_token_outlives_a_bad_read(tmp_path):
    folder = tmp_path / "serviceaccount"
    folder.mkdir()
    _replace_as_the_kubelet_does(folder, "first\n", 1)
    authorization = endpoint_for(
        kubeconfig("https://k", user={"tokenFile": str(folder / "token")}), "ctx"
    ).authorization
    assert authorization() == "Bearer first"
    _replace_as_the_kubelet_does(folder, "second", 2)
    assert authorization() == "Bearer second"
    assert authorization() == "Bearer second"
    (folder / "..data").unlink()  # gone for a moment: the last token stays
    assert authorization() == "Bearer second"
    (folder / "..2" / "token").write_text("")
    (folder / "..data").symlink_to("..2")  # empty: the last token stays
    assert authorization() == "Bearer second"
    (folder / "..2" / "token").write_text("third, longer")  # rewritten in place: size and time tell
    assert authorization() == "Bearer third, longer"

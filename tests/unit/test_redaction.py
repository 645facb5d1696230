"""Issue 7, item 7: the redaction facility — what counts as a credential, how short values are
treated, server URLs as shown, and the streams everything tctl prints goes through."""

from __future__ import annotations

import io

import pytest

from tctl_py.fleet.redaction import REDACTED, RedactingStream, Redactor, display_server, kubeconfig_secrets


def user(body: dict) -> dict:
    return {"users": [{"name": "u", "user": body}]}


@pytest.mark.parametrize(
    ("body", "secret"),
    [
        ({"token": "a-bearer-token"}, "a-bearer-token"),
        ({"username": "admin", "password": "hunter22"}, "hunter22"),
        ({"username": "admin", "password": "hunter22"}, "YWRtaW46aHVudGVyMjI="),  # the Basic header
        ({"client-key-data": "LS0tLS1CRUdJTiBQUklWQVRF"}, "LS0tLS1CRUdJTiBQUklWQVRF"),
        *[
            ({"auth-provider": {"name": "oidc", "config": {key: f"{key}-value"}}}, f"{key}-value")
            for key in ("access-token", "refresh-token", "client-secret", "id-token")
        ],
        ({"exec": {"command": "x", "env": [{"name": "API_KEY", "value": "from-the-env"}]}}, "from-the-env"),
    ],
    ids=[
        "token",
        "password",
        "basic-header",
        "client-key-data",
        "access-token",
        "refresh-token",
        "client-secret",
        "id-token",
        "exec-env",
    ],
)
def test_item7_every_credential_field_is_found(body, secret):
    assert secret in kubeconfig_secrets(user(body))


def test_item7_token_file_content_and_server_url_credentials_are_found(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("token-in-a-file\n")
    config = {
        **user({"tokenFile": str(token_file)}),
        "clusters": [
            {"name": "c", "cluster": {"server": "https://me:url-pw@k8s:6443/?access_token=in-query"}}
        ],
    }
    assert kubeconfig_secrets(config) == {"token-in-a-file", "url-pw", "in-query"}


def test_item7_certificates_are_public_and_not_redacted():
    config = {
        **user({"client-certificate-data": "Q0VSVElGSUNBVEU=", "username": "admin"}),
        "clusters": [{"name": "c", "cluster": {"certificate-authority-data": "Q0EgQ0VSVA=="}}],
    }
    assert kubeconfig_secrets(config) == set()


@pytest.mark.parametrize(
    ("server", "shown"),
    [
        ("https://k8s.example.com:6443", "https://k8s.example.com:6443"),
        ("https://admin:pw@k8s:6443/base", "https://k8s:6443/base"),
        ("https://k8s:6443/?access_token=abc&x=1", "https://k8s:6443/?access_token=REDACTED&x=REDACTED"),
        ("https://u:p@[::1]:6443?token=t", "https://[::1]:6443?token=REDACTED"),
    ],
)
def test_item7_a_server_url_is_shown_without_userinfo_and_query_values(server, shown):
    assert display_server(server) == shown


def test_item7_short_values_are_redacted_as_words_or_not_at_all():
    redactor = Redactor()
    redactor.add(["ab", "pass", "long-secret-value"])
    text = "ab cab pass password xlong-secret-valuex"
    # "ab" (too short) is left alone; "pass" only where it is a word; a long value anywhere
    assert redactor(text) == f"ab cab {REDACTED} password x{REDACTED}x"


def test_item7_a_value_holding_another_is_redacted_whole():
    redactor = Redactor()
    redactor.add(["secret-one", "secret-one-and-more"])
    assert redactor("got secret-one-and-more") == f"got {REDACTED}"


def test_item7_scrub_replaces_credential_shaped_text_it_was_never_told_about():
    scrubbed = Redactor().scrub(
        'Authorization: Bearer abc.def and token=xyz, "password": "pw1" '
        "jwt eyJhbGciOi.eyJzdWIi.c2ln; namespaces listed"
    )
    assert scrubbed == (
        'Authorization: REDACTED and token=REDACTED, "password": "REDACTED" jwt REDACTED; namespaces listed'
    )


def test_item7_a_stream_finds_a_secret_split_over_writes():
    redactor = Redactor()
    redactor.add(["split-secret-value"])
    target = io.StringIO()
    stream = RedactingStream(target, redactor)
    stream.write("error: split-sec")
    assert target.getvalue() == ""  # held back until the line ends
    stream.write("ret-value failed\nnext: split-")
    assert target.getvalue() == f"error: {REDACTED} failed\n"
    stream.write("secret-value")
    stream.flush()
    assert target.getvalue() == f"error: {REDACTED} failed\nnext: {REDACTED}"


def test_item7_a_stream_without_secrets_writes_at_once():
    target = io.StringIO()
    RedactingStream(target, Redactor()).write("partial")
    assert target.getvalue() == "partial"

"""Fault matrix of issue 7, items 7 and 8: credentials never printed, client keys never on disk.

Item 7: a kubeconfig holding a distinct secret in every credential field, clusters failing in
every way that makes tctl talk about them (unreachable, a 401 quoting the basic-auth password, a
500 quoting the token, an exec plugin printing its secrets and failing, a token in the server
URL's query), and the fleet commands, with and without `--debug`: no secret in stdout or
stderr. Item 8: against an https cluster demanding a client certificate, the client key is
read from memory, and a SIGKILL mid-run leaves no file holding it in the temporary folder.
tctl runs as a real process (`python -m tctl_py`) with real streams.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.support import EmulatedFleet
from tests.support.cli import EXAMPLE, ROOT, Ran, example_objects, run_process

pytestmark = pytest.mark.integration

# One distinct secret per credential field (and one the exec plugin makes up itself).
SECRETS = {
    "token": "tok-inline-5f1e2d3c4b5a",
    "tokenFile": "tok-from-file-9a8b7c6d5e",
    "password": "basic-pw-3c2b1a0f9e",
    "access-token": "oidc-access-7e6d5c4b3a",
    "refresh-token": "oidc-refresh-2a3b4c5d6e",
    "client-secret": "oidc-client-secret-8f7e6d",
    "id-token": "oidc-id-token-1b2c3d4e5f",
    "exec env": "exec-env-value-6c5b4a3f2e",
    "query": "query-token-4d3c2b1a0f",
    "userinfo": "userinfo-pw-0a9b8c7d6e",
    "plugin's own": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0Y3RsIn0.c2lnbmF0dXJlLXNlY3JldA",
}

PLUGIN = """#!/bin/sh
echo "login with $PLUGIN_PASSWORD refused; stale token {jwt}" >&2
exit 1
"""


@pytest.fixture()
def leaky(emulated: EmulatedFleet, tmp_path: Path) -> Path:
    """Six clusters, each failing (or not) its own way, and the kubeconfig reaching them."""
    clusters = {
        "query": emulated.add_cluster("query", objects=example_objects("cluster-1"), token=SECRETS["token"]),
        "tls": emulated.add_cluster("tls", objects=example_objects("cluster-2"), tls=True),
        "echo": emulated.add_cluster("echo", echo_credentials=True),
        "broken": emulated.add_cluster("broken", token=SECRETS["tokenFile"]),
        "plugin": emulated.add_cluster("plugin"),
        "down": emulated.add_down_cluster("down"),
    }
    token_file = tmp_path / "token"
    token_file.write_text(SECRETS["tokenFile"])  # the Python client sends a final newline along
    clusters["broken"].fail(500, message=f"etcd timeout while checking token {SECRETS['tokenFile']}")
    plugin = tmp_path / "plugin.sh"
    plugin.write_text(PLUGIN.format(jwt=SECRETS["plugin's own"]))
    plugin.chmod(0o755)
    tls = emulated.tls
    servers = {name: cluster.server for name, cluster in clusters.items()}
    servers["query"] += f"/?access_token={SECRETS['query']}"
    servers["down"] = servers["down"].replace("://", f"://admin:{SECRETS['userinfo']}@")
    users = {
        "query": {"token": SECRETS["token"]},
        "tls": {
            "token": clusters["tls"].token,
            "client-certificate-data": tls.data("client.crt"),
            "client-key-data": tls.data("client.key"),
        },
        "echo": {"username": "admin", "password": SECRETS["password"]},
        "broken": {"tokenFile": str(token_file)},
        "plugin": {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1",
                "command": str(plugin),
                "env": [{"name": "PLUGIN_PASSWORD", "value": SECRETS["exec env"]}],
            }
        },
        "down": {
            "auth-provider": {
                "name": "oidc",
                "config": {
                    "client-id": "tctl",
                    "idp-issuer-url": "https://127.0.0.1:1",
                    **{
                        key: SECRETS[key]
                        for key in ("access-token", "refresh-token", "client-secret", "id-token")
                    },
                },
            }
        },
    }
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "query",
        "clusters": [
            {
                "name": name,
                "cluster": {
                    "server": servers[name],
                    **({"certificate-authority-data": tls.data("ca.crt")} if name == "tls" else {}),
                },
            }
            for name in clusters
        ],
        "users": [{"name": name, "user": users[name]} for name in clusters],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}} for name in clusters],
    }
    path = tmp_path / "kubeconfig.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture()
def configured(main_run) -> None:
    """The example's configuration without Cluster objects: every context is in the fleet."""
    for name in ("organization.yaml", "workspace.yaml", "bookinfo-settings.yaml"):
        ran = main_run("apply", "--no-sync", "-f", str(EXAMPLE / "config" / name))
        assert ran.exit_code == 0, ran.stderr


def assert_no_secret(ran: Ran) -> None:
    printed = ran.stdout + ran.stderr
    leaked = [field for field, secret in SECRETS.items() if secret in printed]
    assert not leaked, f"printed the {leaked} secret(s):\n{printed}"


COMMANDS = {
    "clusters": ["clusters"],
    "get se -A": ["get", "se", "-A"],
    "get se -A -o json": ["get", "se", "-A", "-o", "json"],
    "sync": ["sync"],
    "diff": ["diff", "-f", str(EXAMPLE / "config" / "bookinfo-settings.yaml")],
    "apply --dry-run": ["apply", "-f", str(EXAMPLE / "config" / "bookinfo-settings.yaml"), "--dry-run"],
}


@pytest.mark.parametrize("debug", [[], ["--debug"]], ids=["plain", "debug"])
@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_item7_no_credential_is_printed_by_fleet_commands(proc, configured, leaky, command, debug):
    ran = proc("--kubeconfig", str(leaky), *debug, *command)
    assert_no_secret(ran)
    assert ran.exit_code == 4, ran.stderr  # every failing cluster was reported...
    for name in ("echo", "broken", "plugin", "down"):
        assert f"cluster {name}" in ran.stderr
    assert "REDACTED" in ran.stderr  # ...with the secrets it echoed replaced
    assert "Traceback" not in ran.stderr


def test_item7_each_failure_is_still_explained(proc, configured, leaky):
    ran = proc("--kubeconfig", str(leaky), "clusters")
    errors = {
        match["cluster"]: match.string
        for match in map(re.compile(r"error: cluster (?P<cluster>[^:\s]+): ").match, ran.stderr.splitlines())
        if match
    }
    assert "HTTP 401 Unauthorized" in errors["echo"] and "admin:REDACTED rejected" in errors["echo"]
    assert "HTTP 500" in errors["broken"] and "checking token REDACTED" in errors["broken"]
    assert (
        "exec credential plugin failed" in errors["plugin"]
        and "login with REDACTED refused; stale token REDACTED" in errors["plugin"]
    )
    assert "cannot connect to http://127.0.0.1:" in errors["down"] and "admin" not in errors["down"]
    # the client's own log lines (a failed plugin's stderr, urllib3's retries) are not printed
    assert [line for line in ran.stderr.splitlines() if not line.startswith("error: ")] == []
    rows = {line.split()[0]: line.split()[1] for line in ran.stdout.splitlines()[1:]}
    assert rows["query"].endswith("/?access_token=REDACTED")
    assert rows["tls"].startswith("https://") and rows["down"].startswith("http://127.0.0.1:")


def test_item7_a_debug_traceback_is_redacted(proc, configured, leaky):
    ran = proc("--kubeconfig", str(leaky), "--debug", "get", "se", "--cluster", SECRETS["query"])
    assert ran.exit_code == 2
    assert "Traceback" in ran.stderr and 'cluster "REDACTED" is not in the fleet' in ran.stderr
    assert_no_secret(ran)


# --- item 8: client keys -----------------------------------------------------------------------


def files_holding(folder: Path, content: bytes) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file() and content in path.read_bytes()]


@pytest.fixture()
def https_cluster(emulated: EmulatedFleet):
    cluster = emulated.add_cluster("cluster-1", objects=example_objects("cluster-1"), tls=True)
    return cluster, emulated.write_kubeconfig()


def test_item8_the_client_key_is_used_from_memory(https_cluster, tmp_path):
    cluster, kubeconfig = https_cluster
    temp = tmp_path / "temp"
    temp.mkdir()
    ran = run_process(["--kubeconfig", str(kubeconfig), "clusters"], env={"TMPDIR": str(temp)})
    assert ran.exit_code == 0, ran.stderr  # the server demands the client certificate: it was sent
    assert cluster.counts["GET"] >= 3
    assert list(temp.iterdir()) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="memfd_create is Linux's")
def test_item8_a_sigkill_mid_run_leaves_no_key_on_disk(https_cluster, tmp_path):
    cluster, kubeconfig = https_cluster
    temp = tmp_path / "temp"
    temp.mkdir()
    cluster.latency = 5.0  # the first request hangs: tctl is killed while it holds the key
    process = subprocess.Popen(
        [sys.executable, "-m", "tctl_py", "--kubeconfig", str(kubeconfig), "sync"],
        cwd=ROOT,
        env={**os.environ, "TMPDIR": str(temp)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while cluster.counts["GET"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert cluster.counts["GET"] > 0, "tctl never reached the cluster"
        open_files = [
            os.readlink(f"/proc/{process.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{process.pid}/fd")
        ]
        assert any(target.startswith("/memfd:tctl-key") for target in open_files)
        assert files_holding(temp, cluster.fleet.tls.client_key) == []
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    assert files_holding(temp, cluster.fleet.tls.client_key) == []
    assert list(temp.iterdir()) == []

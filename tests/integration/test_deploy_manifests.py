"""deploy/ against an emulated API server: kubectl takes the manifests, and the requests tctl
really sends are all granted by the RBAC they hold."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tctl_py.fleet.client import fleet_permissions
from tctl_py.fleet.kubeconfig import load_kubeconfig
from tctl_py.fleet.lease import LeaderElector, lease_client
from tctl_py.fleet.lease import LeaseTimings as Timings
from tests.support import EmulatedFleet, namespace
from tests.support.bookinfo import CLUSTERS, CONFIG
from tests.support.emulator import PLATFORM
from tests.unit.test_deploy import DEPLOY, documents, granted, manifests

pytestmark = pytest.mark.integration

needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")


def kubectl(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), *args], capture_output=True, text=True, timeout=60
    )


@needs_kubectl
def test_kubectl_applies_the_manifests(emulated: EmulatedFleet) -> None:
    cluster = emulated.add_cluster("mgmt", tls=True)  # kubectl speaks https only
    emulated.call(cluster.emulator.serve, *PLATFORM)
    kubeconfig = emulated.write_kubeconfig()

    dry = kubectl(
        kubeconfig, "apply", "--dry-run=client", "--validate=false", "-f", str(DEPLOY), "-o", "name"
    )
    assert dry.returncode == 0, dry.stderr
    assert len(dry.stdout.split()) == len(manifests())  # every object of deploy/*.yaml, none sent
    assert cluster.get("Deployment", "tctl-controller", "tctl-system") is None

    for folder in (DEPLOY, DEPLOY / "fleet"):
        ran = kubectl(kubeconfig, "apply", "--validate=false", "-f", str(folder))
        assert ran.returncode == 0, ran.stderr
    deployment = cluster.get("Deployment", "tctl-controller", "tctl-system")
    assert deployment is not None and deployment["spec"]["replicas"] == 2
    assert cluster.get("ClusterRole", "tctl-fleet") is not None


def requested(log: list[dict]) -> set[tuple[str, str, str, str]]:
    """(API group, resource, name, RBAC verb) of every resource request in a request log."""
    found = set()
    for entry in log:
        parts = entry["path"].strip("/").split("/")
        rest = parts[2:] if parts[0] == "api" else parts[3:]
        if not rest:
            continue  # discovery
        group = "" if parts[0] == "api" else parts[1]
        if rest[0] == "namespaces" and len(rest) >= 3:
            rest = rest[2:]  # a namespaced resource
        name = rest[1] if len(rest) > 1 else ""
        method = entry["method"]
        if method == "GET":
            verb = "watch" if entry["query"].get("watch") in ("1", "true") else "get" if name else "list"
        else:
            verb = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}[method]
        found.add((group, rest[0], name, verb))
    return found


def role_allows(role: dict, group: str, plural: str, name: str, verb: str) -> bool:
    """RBAC's rule: some rule names the group, resource and verb, and the object's name if it
    lists names (which a create cannot be limited by)."""
    return any(
        group in rule["apiGroups"]
        and plural in rule["resources"]
        and verb in rule["verbs"]
        and (verb == "create" or name in rule.get("resourceNames", [name]))
        for rule in role["rules"]
    )


def test_tctl_sends_fleet_clusters_only_requests_the_clusterrole_grants(fleet, tctl) -> None:
    for args in (("apply", "-f", CONFIG), ("sync",)):
        ran = tctl(*args)
        assert ran.exit_code == 0, ran.stderr
    (role, _) = documents(DEPLOY / "fleet" / "clusterrole.yaml")
    allowed = granted(role["rules"])
    assert allowed == {(r.group, r.plural): set(v) for r, v in fleet_permissions().items()}
    used = set()
    for name in CLUSTERS:
        for group, plural, _, verb in requested(fleet[name].request_log):
            assert verb in allowed.get((group, plural), set()), (name, group, plural, verb)
            used.add(verb)
    assert {"list", "patch"} <= used  # the run did read and write


def test_the_elector_sends_only_requests_the_role_grants(emulated: EmulatedFleet) -> None:
    cluster = emulated.add_cluster("mgmt", objects=[namespace("tctl-system")])
    kubeconfig = load_kubeconfig(emulated.write_kubeconfig())
    timings = Timings()
    a, b = (LeaderElector(lease_client(kubeconfig, "mgmt", timings), identity=n) for n in "ab")
    assert a.step() and not b.step() and a.step() and a.release() and b.step()
    role = manifests()[("Role", "tctl-controller")]
    for request in requested(cluster.request_log):
        assert role_allows(role, *request), request
    assert {verb for *_, verb in requested(cluster.request_log)} == {"get", "create", "update"}
    for elector in (a, b):
        elector.client.close()

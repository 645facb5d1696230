"""`tctl sync --watch` on the Kubernetes store: a `kubectl apply` of a changed WorkspaceSetting
custom resource in the management cluster reaches the fleet without a restart (SPEC §10)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from tctl_py.kube import MULTICLUSTER_NAMESPACE
from tests.integration.test_watch import Process, eventually
from tests.support import EmulatedFleet
from tests.support.bookinfo import CLUSTERS, CONFIG
from tests.support.cli import example_objects, run_main

KUBE = "kube://mgmt/tctl"
SETTING = "tse.tse.bookinfo-ws.bookinfo-ws-settings"

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")


def kubectl(kubeconfig, *args: str, input: str | None = None) -> str:
    ran = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), "--context", "mgmt", *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    return ran.stdout


def test_a_kubectl_apply_of_the_setting_resource_reaches_the_fleet(emulated: EmulatedFleet, monkeypatch):
    for name in CLUSTERS:
        emulated.add_cluster(name, objects=example_objects(name))
    emulated.add_cluster("mgmt", istio=False, tls=True)  # https: kubectl sends no token over http
    kubeconfig = emulated.write_kubeconfig(emulated.directory / "kubeconfig.yaml", current_context="mgmt")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    for args in (("store", "init"), ("apply", "-f", str(CONFIG))):
        ran = run_main([*args, "--store", KUBE])
        assert ran.exit_code == 0, ran.stderr
    reviews = lambda: emulated["cluster-3"].get("ServiceEntry", "reviews.bookinfo", MULTICLUSTER_NAMESPACE)  # noqa: E731
    assert reviews() is not None

    watching = Process(
        ["sync", "--watch", "--debounce", "0.2", "--log-format", "json"],
        {"TCTL_STORE": KUBE, "KUBECONFIG": str(kubeconfig), "NO_PROXY": "*"},
    )
    try:
        eventually(lambda: sum('"reachable"' in line for line in watching.lines) >= len(CLUSTERS), "listed")
        resource = yaml.safe_load(
            kubectl(kubeconfig, "get", "workspacesettings", "-n", "tctl", SETTING, "-o", "yaml")
        )
        gateway = resource["spec"]["defaultEastWestGatewaySettings"][0]
        gateway["exposedServices"] = [
            s for s in gateway["exposedServices"] if s["serviceLabels"] != {"app": "reviews"}
        ]
        kubectl(kubeconfig, "apply", "--validate=false", "-f", "-", input=yaml.safe_dump(resource))
        eventually(lambda: reviews() is None, "reviews' ServiceEntry pruned in cluster-3")
        assert emulated["cluster-3"].get("ServiceEntry", "details.bookinfo", MULTICLUSTER_NAMESPACE)
    finally:
        watching.process.terminate()
        assert watching.process.wait(10) == 0, "\n".join(watching.errors)

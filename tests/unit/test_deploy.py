"""deploy/: the manifests parse and fit together, RBAC grants exactly what the code uses, the
Dockerfile builds a non-root image from a pinned base."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tctl_py.fleet.client import fleet_permissions
from tctl_py.fleet.lease import DEFAULT_LEASE_NAME, DEFAULT_LEASE_NAMESPACE, LEASE_VERBS, LEASES

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def manifests() -> dict[tuple[str, str], dict]:
    """Every object of deploy/*.yaml (what `kubectl apply -f deploy/` applies, in file name order: the Namespace first), by (kind, name)."""
    found: dict[tuple[str, str], dict] = {}
    for path in sorted(DEPLOY.glob("*.yaml")):
        for doc in documents(path):
            key = (doc["kind"], doc["metadata"]["name"])
            assert key not in found, f"{key} twice"
            found[key] = doc
    return found


def granted(rules: list[dict]) -> dict[tuple[str, str], set[str]]:
    """(API group, resource) -> verbs, over every rule."""
    verbs: dict[tuple[str, str], set[str]] = {}
    for rule in rules:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                verbs.setdefault((group, resource), set()).update(rule["verbs"])
    return verbs


@pytest.fixture(scope="module")
def objects() -> dict[tuple[str, str], dict]:
    return manifests()


def test_the_manifests_are_the_controller_s_pieces(objects) -> None:
    assert sorted(objects) == [
        ("Deployment", "tctl-controller"),
        ("Namespace", DEFAULT_LEASE_NAMESPACE),
        ("Role", "tctl-controller"),
        ("RoleBinding", "tctl-controller"),
        ("Secret", "tctl-fleet-kubeconfig"),
        ("ServiceAccount", "tctl-controller"),
    ]
    for (kind, _), obj in objects.items():
        if kind != "Namespace":
            assert obj["metadata"]["namespace"] == DEFAULT_LEASE_NAMESPACE


def test_the_role_grants_exactly_the_lease_verbs_the_elector_uses(objects) -> None:
    rules = objects[("Role", "tctl-controller")]["rules"]
    lease_rules = [r for r in rules if r["apiGroups"] == [LEASES.group]]
    assert granted(lease_rules) == {(LEASES.group, LEASES.plural): set(LEASE_VERBS)}
    for rule in lease_rules:  # all but create (which cannot be) are limited to the one Lease
        assert rule["verbs"] == ["create"] or rule["resourceNames"] == [DEFAULT_LEASE_NAME]
    store_rules = [r for r in rules if r not in lease_rules]
    assert all(set(r["verbs"]) <= {"get", "list", "watch"} for r in store_rules)  # reads only
    binding = objects[("RoleBinding", "tctl-controller")]
    assert binding["roleRef"]["name"] == "tctl-controller"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "tctl-controller", "namespace": DEFAULT_LEASE_NAMESPACE}
    ]


def test_the_fleet_clusterrole_grants_exactly_what_the_client_uses() -> None:
    role, binding = documents(DEPLOY / "fleet" / "clusterrole.yaml")
    expected = {(r.group, r.plural): set(verbs) for r, verbs in fleet_permissions().items()}
    assert granted(role["rules"]) == expected
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "tctl-fleet",
    }


def test_the_deployment_runs_two_locked_down_replicas_with_probes(objects) -> None:
    deployment = objects[("Deployment", "tctl-controller")]
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    assert ("ServiceAccount", pod["serviceAccountName"]) in objects
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    args = dict(arg.removeprefix("--").split("=", 1) for arg in container["args"])
    assert args["metrics-addr"].endswith(f":{ports['metrics']}")
    assert args["health-addr"].endswith(f":{ports['health']}")
    env = {e["name"]: e for e in container["env"]}
    assert env["POD_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    # replicas share one configuration: a store in the cluster, not a file in each pod
    assert env["TCTL_STORE"]["value"] == f"kube://{args['lease-cluster']}/{DEFAULT_LEASE_NAMESPACE}"
    # the fleet kubeconfig comes from the Secret, and names the Lease's cluster
    secret = objects[("Secret", "tctl-fleet-kubeconfig")]
    volumes = {v["name"]: v for v in pod["volumes"]}
    (mount,) = [m for m in container["volumeMounts"] if "secret" in volumes[m["name"]]]
    assert volumes[mount["name"]]["secret"]["secretName"] == "tctl-fleet-kubeconfig"
    key = env["KUBECONFIG"]["value"].removeprefix(mount["mountPath"] + "/")
    kubeconfig = yaml.safe_load(secret["stringData"][key])
    assert args["lease-cluster"] in {c["name"] for c in kubeconfig["contexts"]}
    # a read-only root: whatever is written goes to a mounted emptyDir
    writable = [m["mountPath"] for m in container["volumeMounts"] if "emptyDir" in volumes[m["name"]]]
    assert writable == ["/tmp"]


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_the_dockerfile_builds_a_non_root_image_from_a_pinned_base() -> None:
    instructions = dockerfile_instructions()
    args = dict(value.split("=", 1) for op, value in instructions if op == "ARG" and "=" in value)
    bases = [value.split()[0] for op, value in instructions if op == "FROM"]
    for base in bases:
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], base)
        name, _, tag = image.partition(":")
        assert name == "python" and tag.startswith("3.11-slim"), image  # a tag, never latest
    users = [value for op, value in instructions if op == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert users[-1].split(":")[0].isdigit()  # numeric: runAsNonRoot can check it
    entrypoint = [value for op, value in instructions if op == "ENTRYPOINT"]
    assert entrypoint == ['["tctl", "controller", "--leader-elect"]']
    copied = {
        source
        for op, value in instructions
        if op == "COPY" and "--from" not in value
        for source in value.split()[:-1]
    }
    ignored = (DEPLOY.parent / ".dockerignore").read_text(encoding="utf-8")
    for source in copied:  # what the build copies is in the context .dockerignore leaves
        assert f"!{source}" in ignored


def test_the_image_and_the_deployment_pass_only_options_tctl_controller_has(objects) -> None:
    import json

    import typer.main

    from tctl_py.cli.app import app

    command = typer.main.get_command(app).commands["controller"]  # type: ignore[attr-defined]
    known = {name for param in command.params for name in param.opts}
    container = objects[("Deployment", "tctl-controller")]["spec"]["template"]["spec"]["containers"][0]
    instructions = dict(dockerfile_instructions())
    entrypoint, cmd = json.loads(instructions["ENTRYPOINT"]), json.loads(instructions["CMD"])
    assert entrypoint[:2] == ["tctl", "controller"]
    for arg in [*entrypoint[2:], *cmd, *container["args"]]:
        if arg.startswith("--"):
            assert arg.split("=", 1)[0] in known, arg

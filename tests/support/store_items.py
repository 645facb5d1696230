"""Store items (fqn, kind, parent, body) for the store tests of every backend; specs valid
against schemas/ (the Kubernetes store's API server prunes what they do not declare)."""

from __future__ import annotations

ORG = "organizations/tse"
TENANT = f"{ORG}/tenants/tse"
WS = f"{TENANT}/workspaces/bookinfo-ws"
SETTING = f"{WS}/settings/bookinfo-ws-settings"
CLUSTER = f"{ORG}/clusters/cluster-1"


def org(name="tse", **spec):
    return (f"organizations/{name}", "Organization", None, {"displayName": name, **spec})


def tenant(org_fqn=ORG, name="tse"):
    return (f"{org_fqn}/tenants/{name}", "Tenant", org_fqn, {"spec": {}})


def workspace(tenant_fqn=TENANT, name="bookinfo-ws", namespaces=("bookinfo",)):
    return (
        f"{tenant_fqn}/workspaces/{name}",
        "Workspace",
        tenant_fqn,
        {"spec": {"namespaceSelector": {"names": [f"*/{n}" for n in namespaces]}}},
    )


def setting(ws_fqn=WS, name="bookinfo-ws-settings", gateway="eastwest-gateway"):
    selector = {"namespace": "bookinfo", "labels": {"app": gateway}}
    return (
        f"{ws_fqn}/settings/{name}",
        "WorkspaceSetting",
        ws_fqn,
        {"spec": {"defaultEastWestGatewaySettings": [{"workloadSelector": selector}]}},
    )


def cluster(name="cluster-1", org_fqn=ORG, **spec):
    return (f"{org_fqn}/clusters/{name}", "Cluster", org_fqn, {"spec": {"network": name, **spec}})

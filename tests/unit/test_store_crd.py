"""How configuration looks as custom resources (pure): CRDs from schemas/, names, and the round
trip between a stored body and its custom resource."""

from __future__ import annotations

import json

from tctl_py.config.kinds import KINDS, stored_kinds
from tctl_py.store import crd

SETTING = "organizations/tse/tenants/tse/workspaces/bookinfo-ws/settings/bookinfo-ws-settings"


def _walk(schema: dict):
    """Every schema node under `schema`, itself included."""
    yield schema
    for child in schema.get("properties", {}).values():
        yield from _walk(child)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _walk(schema[key])


def test_one_structural_definition_per_stored_kind():
    definitions = list(crd.definitions())
    assert [d["spec"]["names"]["kind"] for d in definitions] == [k.kind for k in stored_kinds()]
    for definition in definitions:
        spec = definition["spec"]
        assert definition["metadata"]["name"] == f"{spec['names']['plural']}.tctl.tetrate.io"
        assert spec["scope"] == "Namespaced" and spec["versions"][0]["name"] == "v1alpha1"
        schema = spec["versions"][0]["schema"]["openAPIV3Schema"]
        for node in _walk(schema["properties"]["spec"]):
            assert not {"$ref", "const", "title", "$defs", "oneOf", "anyOf"} & set(node), node
            assert "type" in node or node.get("x-kubernetes-preserve-unknown-fields"), node
            assert not ("properties" in node and "additionalProperties" in node), node
    setting = definitions[-1]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    gateways = setting["properties"]["defaultEastWestGatewaySettings"]
    assert gateways["type"] == "array" and gateways["items"]["type"] == "object"


def test_what_a_structural_schema_cannot_say_keeps_unknown_fields():
    defs = {"loop": {"type": "object", "properties": {"next": {"$ref": "#/$defs/loop"}}}}
    looped = crd.structural({"$ref": "#/$defs/loop"}, defs)
    assert looped["properties"]["next"] == {"x-kubernetes-preserve-unknown-fields": True}
    assert crd.structural({"type": ["string", "null"]}, {}) == {"x-kubernetes-preserve-unknown-fields": True}
    assert crd.structural({"oneOf": [{"type": "string"}], "description": "d"}, {}) == {
        "description": "d",
        "x-kubernetes-preserve-unknown-fields": True,
    }
    assert crd.structural({"type": "string", "const": "x", "title": "T"}, {}) == {
        "type": "string",
        "enum": ["x"],
    }
    free = crd.structural({"type": "object", "additionalProperties": False}, {})
    assert free == {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def test_names_are_dns_subdomains_hashed_when_too_long_and_never_equal():
    assert crd.object_name(SETTING) == "tse.tse.bookinfo-ws.bookinfo-ws-settings"
    assert crd.object_name("organizations/tse") == "tse"
    long = "/".join(
        ["organizations", "a" * 63, "tenants", "b" * 63, "workspaces", "c" * 63, "settings", "d" * 63]
    )
    other = long[:-1] + "e"
    hashed = crd.object_name(long)
    assert len(hashed) <= 253 and "." not in hashed and len(hashed) > 63
    assert hashed != crd.object_name(other)
    assert crd.kind_of_fqn(SETTING) is KINDS["WorkspaceSetting"]
    assert crd.kind_of_fqn("organizations/tse/clusters/c1") is KINDS["Cluster"]
    assert crd.kind_of_fqn("organizations/tse/nothing/x") is None


def test_a_body_round_trips_through_its_custom_resource_keeping_key_order():
    body = {
        "apiVersion": "api.tsb.tetrate.io/v2",
        "kind": "WorkspaceSetting",
        "metadata": {
            "workspace": "bookinfo-ws",
            "name": "bookinfo-ws-settings",
            "tenant": "tse",
            "organization": "tse",
        },
        "spec": {"z": 1, "a": {"y": 2, "b": 3}},
    }
    kind = KINDS["WorkspaceSetting"]
    resource = crd.to_resource(SETTING, kind, body, "tctl", 3, "2026-01-01T00:00:00Z")
    assert resource["metadata"]["labels"]["tctl.tetrate.io/workspace"] == "bookinfo-ws"
    resource["metadata"]["creationTimestamp"] = "2025-01-01T00:00:00Z"
    fqn, back, revision, created, updated = crd.from_resource(kind, json.loads(json.dumps(resource)))
    assert (fqn, revision, created, updated) == (SETTING, 3, "2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z")
    assert json.dumps(back) == json.dumps(body)


def test_a_custom_resource_written_by_hand_is_read_from_its_labels_and_spec():
    kind = KINDS["Workspace"]
    labels = {"tctl.tetrate.io/organization": "tse", "tctl.tetrate.io/tenant": "tse"}
    resource = {
        "metadata": {"name": "web", "labels": labels},
        "spec": {"namespaceSelector": {"names": ["*/web"]}},
    }
    fqn, body, *_ = crd.from_resource(kind, resource)
    assert fqn == "organizations/tse/tenants/tse/workspaces/web"
    assert body == {
        "apiVersion": "api.tsb.tetrate.io/v2",
        "kind": "Workspace",
        "metadata": {"name": "web", "organization": "tse", "tenant": "tse"},
        "spec": {"namespaceSelector": {"names": ["*/web"]}},
    }
    assert crd.from_resource(kind, {"metadata": {"name": "lost"}, "spec": {}}) is None

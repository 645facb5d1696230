"""The emulated API server itself, as later issues (writers, reconcile) will rely on it.

Driven by the official `kubernetes` client over HTTP, so these also show the client accepts it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from kubernetes import client, dynamic
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import ResourceNotFoundError

from tctl_py.fleet.connection import configuration_for
from tctl_py.fleet.kubeconfig import load_kubeconfig
from tests.support import EmulatedCluster, EmulatedFleet, destination_rule, namespace, service

pytestmark = pytest.mark.integration

MANAGED = {"app.kubernetes.io/managed-by": "tctl"}


@pytest.fixture
def cluster(emulated: EmulatedFleet) -> EmulatedCluster:
    return emulated.add_cluster(
        "c1",
        objects=[
            namespace("shop"),
            service("shop", "cart", load_balancer=[{"ip": "192.0.2.1"}]),
            destination_rule("shop", "theirs", "cart.shop.svc.cluster.local"),
        ],
    )


@pytest.fixture
def api(emulated: EmulatedFleet, cluster: EmulatedCluster) -> Iterator[client.ApiClient]:
    config = load_kubeconfig(str(emulated.write_kubeconfig()))
    with client.ApiClient(configuration_for(config, "c1")) as api_client:
        yield api_client


def discovering(api: client.ApiClient, tmp_path) -> dynamic.DynamicClient:
    """A dynamic client with a discovery cache of its own: by default the client caches it in
    the temporary folder under the server's address, and an earlier test's cluster may have
    served other kinds on the same port."""
    return dynamic.DynamicClient(api, cache_file=str(tmp_path / f"discovery-{id(api)}.json"))


@pytest.fixture
def dr(api, tmp_path):
    return discovering(api, tmp_path).resources.get(
        api_version="networking.istio.io/v1", kind="DestinationRule"
    )


def body_of(error: ApiException) -> dict:
    return json.loads(error.body)


def managed_dr(name: str, host: str, **spec) -> dict:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": {"name": name, "namespace": "shop", "labels": dict(MANAGED)},
        "spec": {"host": host, **spec},
    }


def test_discovery_serves_istio_kinds(dr, api, emulated, tmp_path):
    assert (dr.kind, dr.name, dr.namespaced) == ("DestinationRule", "destinationrules", True)
    groups = client.ApisApi(api).get_api_versions()
    assert "networking.istio.io" in [g.name for g in groups.groups]
    plain = emulated.add_cluster("plain", istio=False)
    config = load_kubeconfig(str(emulated.write_kubeconfig()))
    with client.ApiClient(configuration_for(config, "plain")) as other, pytest.raises(ResourceNotFoundError):
        discovering(other, tmp_path).resources.get(
            api_version="networking.istio.io/v1", kind="DestinationRule"
        )
    assert plain.running


def test_create_is_201_with_server_fields_and_needs_the_namespace(api, cluster):
    core = client.CoreV1Api(api)
    response = core.create_namespaced_service(
        "shop", {"metadata": {"name": "pay"}, "spec": {"ports": [{"port": 80}]}}, _preload_content=False
    )
    assert response.status == 201
    created = json.loads(response.data)
    meta = created["metadata"]
    assert meta["uid"] and meta["generation"] == 1 and meta["creationTimestamp"].endswith("Z")
    assert int(meta["resourceVersion"]) > 0
    assert created["spec"]["clusterIP"] and created["spec"]["ports"][0]["targetPort"] == 80
    assert core.read_namespaced_service("pay", "shop").metadata.uid == meta["uid"]
    with pytest.raises(ApiException) as exists:
        core.create_namespaced_service("shop", {"metadata": {"name": "pay"}})
    assert exists.value.status == 409 and body_of(exists.value)["reason"] == "AlreadyExists"
    with pytest.raises(ApiException) as missing:
        core.create_namespaced_service("nowhere", {"metadata": {"name": "pay"}})
    assert (
        missing.value.status == 404 and 'namespaces "nowhere" not found' in body_of(missing.value)["message"]
    )
    with pytest.raises(ApiException) as invalid:
        core.create_namespaced_service("shop", {"metadata": {"name": "Not_Valid"}})
    assert invalid.value.status == 422


def test_namespaces_are_a_resource_and_deleting_one_deletes_its_objects(api, cluster):
    core = client.CoreV1Api(api)
    assert [n.metadata.name for n in core.list_namespace().items] == ["shop"]
    assert core.read_namespace("shop").status.phase == "Active"
    core.create_namespace({"metadata": {"name": "xcp-multicluster"}})
    assert core.read_namespace("xcp-multicluster").metadata.labels == {
        "kubernetes.io/metadata.name": "xcp-multicluster"
    }
    core.delete_namespace("shop")
    assert cluster.list("services") == [] and cluster.list("DestinationRule") == []
    with pytest.raises(ApiException) as gone:
        core.read_namespace("shop")
    assert gone.value.status == 404


def test_replace_checks_resource_version_and_bumps_generation_on_spec_changes(api, cluster):
    core = client.CoreV1Api(api)
    current = core.read_namespaced_service("cart", "shop")
    labelled = core.patch_namespaced_service("cart", "shop", {"metadata": {"labels": {"a": "b"}}})
    assert labelled.metadata.generation == current.metadata.generation  # metadata only
    assert int(labelled.metadata.resource_version) > int(current.metadata.resource_version)
    stale = api.sanitize_for_serialization(current)
    with pytest.raises(ApiException) as conflict:
        core.replace_namespaced_service("cart", "shop", stale)
    assert conflict.value.status == 409
    fresh = api.sanitize_for_serialization(core.read_namespaced_service("cart", "shop"))
    fresh["spec"]["ports"] = [{"name": "http", "port": 8080}]
    fresh["status"] = {"loadBalancer": {}}  # ignored: status is a subresource
    replaced = core.replace_namespaced_service("cart", "shop", fresh)
    assert replaced.metadata.generation == current.metadata.generation + 1
    assert replaced.status.load_balancer.ingress[0].ip == "192.0.2.1"
    same = core.replace_namespaced_service("cart", "shop", api.sanitize_for_serialization(replaced))
    assert same.metadata.resource_version == replaced.metadata.resource_version  # no-op: no write


def test_status_subresource_changes_only_status(api, cluster):
    core = client.CoreV1Api(api)
    core.patch_namespaced_service_status(
        "cart",
        "shop",
        {
            "status": {"loadBalancer": {"ingress": [{"hostname": "gw.example.com"}]}},
            "spec": {"type": "NodePort"},
        },
    )
    stored = cluster.get("services", "cart", "shop")
    assert stored["status"]["loadBalancer"]["ingress"] == [{"hostname": "gw.example.com"}]
    assert stored["spec"]["type"] == "ClusterIP"


def test_json_patch_and_merge_patch(api, cluster, dr):
    dr.patch(
        name="theirs",
        namespace="shop",
        body={"spec": {"trafficPolicy": None}},
        content_type="application/merge-patch+json",
    )
    assert "trafficPolicy" not in cluster.get("DestinationRule", "theirs", "shop")["spec"]
    dr.patch(
        name="theirs",
        namespace="shop",
        body=[
            {"op": "add", "path": "/metadata/labels", "value": {"x": "1"}},
            {"op": "replace", "path": "/spec/host", "value": "other"},
        ],
        content_type="application/json-patch+json",
    )
    stored = cluster.get("DestinationRule", "theirs", "shop")
    assert stored["metadata"]["labels"] == {"x": "1"} and stored["spec"]["host"] == "other"
    with pytest.raises(ApiException) as failed:
        dr.patch(
            name="theirs",
            namespace="shop",
            body=[{"op": "test", "path": "/spec/host", "value": "no"}],
            content_type="application/json-patch+json",
        )
    assert failed.value.status == 422


def test_server_side_apply_creates_merges_and_is_idempotent(dr, cluster):
    body = managed_dr(
        "mine", "cart.shop.svc.cluster.local", trafficPolicy={"outlierDetection": {"consecutive5xxErrors": 3}}
    )
    created = dr.server_side_apply(body=body, name="mine", namespace="shop", field_manager="tctl")
    version = created.metadata.resourceVersion
    writes = cluster.writes
    again = dr.server_side_apply(body=body, name="mine", namespace="shop", field_manager="tctl")
    assert again.metadata.resourceVersion == version and cluster.writes == writes  # nothing written
    stored = cluster.get("DestinationRule", "mine", "shop")
    [entry] = [m for m in stored["metadata"]["managedFields"] if m["manager"] == "tctl"]
    assert entry["operation"] == "Apply"
    assert entry["fieldsV1"]["f:spec"] == {
        "f:host": {},
        "f:trafficPolicy": {"f:outlierDetection": {"f:consecutive5xxErrors": {}}},
    }
    # another manager adds a field; tctl's next apply keeps it, and drops what tctl stopped applying
    dr.patch(
        name="mine",
        namespace="shop",
        body={"metadata": {"annotations": {"note": "hi"}}},
        content_type="application/merge-patch+json",
    )
    slim = managed_dr("mine", "cart.shop.svc.cluster.local")
    result = dr.server_side_apply(body=slim, name="mine", namespace="shop", field_manager="tctl").to_dict()
    assert result["metadata"]["annotations"] == {"note": "hi"}
    assert result["spec"] == {"host": "cart.shop.svc.cluster.local"}
    assert result["metadata"]["generation"] == 2


def test_server_side_apply_conflicts_unless_forced(dr, cluster):
    body = managed_dr("theirs", "elsewhere.shop.svc.cluster.local")
    with pytest.raises(ApiException) as conflict:
        dr.server_side_apply(body=body, name="theirs", namespace="shop", field_manager="tctl")
    status = body_of(conflict.value)
    assert conflict.value.status == 409 and status["reason"] == "Conflict"
    assert status["details"]["causes"] == [
        {
            "type": "FieldManagerConflict",
            "field": ".spec.host",
            "message": 'conflict with "kubectl-client-side-apply"',
        }
    ]
    assert cluster.get("DestinationRule", "theirs", "shop")["spec"]["host"] == "cart.shop.svc.cluster.local"
    forced = dr.server_side_apply(
        body=body, name="theirs", namespace="shop", field_manager="tctl", force_conflicts=True
    )
    assert forced.spec.host == "elsewhere.shop.svc.cluster.local"
    # the same value as another manager is no conflict: ownership is shared
    same = managed_dr("theirs", "elsewhere.shop.svc.cluster.local")
    dr.server_side_apply(body=same, name="theirs", namespace="shop", field_manager="other")


def test_server_side_apply_needs_a_field_manager(api):
    with pytest.raises(ApiException) as missing:
        client.CustomObjectsApi(api).patch_namespaced_custom_object(
            "networking.istio.io",
            "v1",
            "shop",
            "destinationrules",
            "x",
            managed_dr("x", "h"),
            _content_type="application/apply-patch+yaml",
        )
    assert missing.value.status == 422 and "fieldManager" in body_of(missing.value)["message"]


def test_dry_run_writes_nothing(dr, api, cluster):
    writes = cluster.writes
    preview = dr.server_side_apply(
        body=managed_dr("new", "h"), name="new", namespace="shop", field_manager="tctl", dry_run="All"
    )
    assert preview.metadata.name == "new" and cluster.get("DestinationRule", "new", "shop") is None
    client.CoreV1Api(api).delete_namespaced_service("cart", "shop", dry_run="All")
    assert cluster.get("services", "cart", "shop") is not None
    assert cluster.writes == writes


def test_delete_collection_by_label(dr, cluster):
    for name in ("a", "b"):
        dr.server_side_apply(
            body=managed_dr(name, f"{name}.shop"), name=name, namespace="shop", field_manager="tctl"
        )
    dr.delete(namespace="shop", label_selector="app.kubernetes.io/managed-by=tctl")
    assert [o["metadata"]["name"] for o in cluster.list("DestinationRule")] == ["theirs"]


def test_a_list_answer_is_the_json_aiohttp_writes_and_shows_each_object_as_it_is_now(api, cluster):
    core = client.CoreV1Api(api)

    def listed():
        answer = core.list_namespaced_service("shop", _preload_content=False)
        assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
        assert answer.data == json.dumps(json.loads(answer.data)).encode()  # json.dumps's spacing
        return json.loads(answer.data)

    first = listed()
    assert (first["kind"], first["metadata"]["resourceVersion"]) == ("ServiceList", str(cluster.revision))
    [cart] = first["items"]
    assert "kind" not in cart and "apiVersion" not in cart  # a built-in kind's items
    assert listed() == first
    core.patch_namespaced_service("cart", "shop", {"metadata": {"labels": {"x": "y"}}})
    [changed] = listed()["items"]
    assert changed["metadata"]["labels"] == {"x": "y"}
    assert changed["metadata"]["resourceVersion"] != cart["metadata"]["resourceVersion"]
    core.delete_namespaced_service("cart", "shop")
    assert listed()["items"] == []


def test_kmock_reactions_take_the_requests_their_views_select(emulated, api, cluster):
    # a plain filter is matched on the request alone; a slice of one still asks kmock
    kmock_api, core = cluster.emulator, client.CoreV1Api(api)
    emulated.call(lambda: kmock_api["get /api/v1/namespaces/shop"][1:2] << 418)
    emulated.call(lambda: kmock_api["list v1/namespaces"] << {"kind": "NamespaceList", "items": []})
    assert core.read_namespace("shop").metadata.name == "shop"
    with pytest.raises(ApiException) as teapot:
        core.read_namespace("shop")
    assert teapot.value.status == 418
    assert core.read_namespace("shop").metadata.name == "shop"
    assert core.list_namespace().items == []
    assert [s.metadata.name for s in core.list_namespaced_service("shop").items] == ["cart"]


def test_faults_counts_and_tokens(emulated, api, cluster):
    core = client.CoreV1Api(api)
    cluster.reset_counts()
    cluster.fail(500, times=1, method="GET", path="/services$")
    with pytest.raises(ApiException) as injected:
        core.list_namespaced_service("shop")
    assert injected.value.status == 500
    assert len(core.list_namespaced_service("shop").items) == 1  # only once
    core.patch_namespaced_service("cart", "shop", {"metadata": {"labels": {"x": "y"}}})
    assert cluster.counts == {"GET": 2, "PATCH": 1}
    anonymous = client.Configuration()
    anonymous.host = cluster.server
    with client.ApiClient(anonymous) as stranger, pytest.raises(ApiException) as refused:
        client.CoreV1Api(stranger).list_namespace()
    assert refused.value.status == 401


def test_a_custom_resource_definition_serves_its_resource_until_deleted(api, cluster, tmp_path):
    size = {"type": "integer"}
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {"size": size}}}}
    widgets = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
            "versions": [
                {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}
            ],
        },
    }
    extensions = client.ApiextensionsV1Api(api)
    extensions.create_custom_resource_definition(widgets)
    assert extensions.read_custom_resource_definition("widgets.example.com").status.conditions[-1].type == (
        "Established"
    )
    resource = discovering(api, tmp_path).resources.get(api_version="example.com/v1", kind="Widget")
    assert (resource.name, resource.namespaced, resource.short_names) == ("widgets", True, ["wd"])
    custom = client.CustomObjectsApi(api)
    body = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 3}}
    body["spec"]["color"] = "red"  # not in the schema: pruned
    custom.create_namespaced_custom_object("example.com", "v1", "shop", "widgets", body)
    listed = custom.list_namespaced_custom_object("example.com", "v1", "shop", "widgets")
    assert [item["spec"] for item in listed["items"]] == [{"size": 3}]
    with pytest.raises(ApiException) as invalid:
        custom.create_namespaced_custom_object(
            "example.com",
            "v1",
            "shop",
            "widgets",
            {**body, "metadata": {"name": "v"}, "spec": {"size": "big"}},
        )
    assert invalid.value.status == 422 and "spec.size" in body_of(invalid.value)["message"]
    extensions.delete_custom_resource_definition("widgets.example.com")
    with pytest.raises(ApiException) as gone:
        custom.list_namespaced_custom_object("example.com", "v1", "shop", "widgets")
    assert gone.value.status == 404
    assert cluster.list("namespaces") and not [o for o in cluster.emulator.served if o.plural == "widgets"]

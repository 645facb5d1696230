"""The example's bookinfo fleet on emulated clusters, and what tests read back from it."""

from __future__ import annotations

from pathlib import Path

from tests.support.harness import EmulatedCluster, EmulatedFleet

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "bookinfo"
CONFIG = EXAMPLE / "config"
CLUSTERS = ("cluster-1", "cluster-2", "cluster-3")
MANAGED_BY = "app.kubernetes.io/managed-by"
GENERATED_KINDS = ("ServiceEntry", "WorkloadEntry", "DestinationRule", "Gateway")
WRITE_METHODS = ("PATCH", "POST", "PUT", "DELETE")


def reset(fleet: EmulatedFleet) -> None:
    for cluster in fleet.clusters.values():
        cluster.reset_counts()


def write_requests(fleet: EmulatedFleet) -> dict[str, int]:
    """Write requests (PATCH/POST/PUT/DELETE) each server received since the last reset."""
    return {name: sum(c.counts[m] for m in WRITE_METHODS) for name, c in fleet.clusters.items()}


def no_writes(fleet: EmulatedFleet) -> dict[str, int]:
    return {name: 0 for name in fleet.clusters}


def names(cluster: EmulatedCluster, kind: str, ns: str | None = None) -> list[str]:
    return sorted(o["metadata"]["name"] for o in cluster.list(kind, ns))


def managed_objects(cluster: EmulatedCluster) -> list[tuple[str, str, str]]:
    """(kind, namespace, name) of every object labelled managed-by tctl."""
    found = []
    for kind in ("Namespace", *GENERATED_KINDS):
        for obj in cluster.list(kind):
            meta = obj["metadata"]
            if (meta.get("labels") or {}).get(MANAGED_BY) == "tctl":
                found.append((kind, meta.get("namespace", ""), meta["name"]))
    return sorted(found)


def fleet_objects(fleet: EmulatedFleet, *, namespaces: bool = True) -> dict[str, list[tuple[str, str, str]]]:
    """`managed_objects` of every running cluster (without Namespaces when `namespaces` is false)."""
    found = {name: managed_objects(c) for name, c in fleet.clusters.items() if c.running}
    return fleet_objects_of(found, namespaces=namespaces)


def fleet_objects_of(
    found: dict[str, list[tuple[str, str, str]]], *, namespaces: bool
) -> dict[str, list[tuple[str, str, str]]]:
    return {
        name: [o for o in objects if namespaces or o[0] != "Namespace"] for name, objects in found.items()
    }


def user_client(fleet: EmulatedFleet, cluster: str):
    """The official client for one context, as a user's kubectl would be."""
    from kubernetes import config

    return config.new_client_from_config(
        config_file=str(fleet.directory / "kubeconfig.yaml"), context=cluster, persist_config=False
    )

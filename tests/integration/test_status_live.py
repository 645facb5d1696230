"""`tctl status` on a live fleet: three emulated clusters serving the bookinfo example, reached
through a kubeconfig by the official client. Objects are compared with what the clusters hold,
and a cluster that goes down is reported per service."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import EmulatedFleet
from tests.support.bookinfo import user_client
from tests.support.cli import EXAMPLE, example_objects

pytestmark = pytest.mark.integration

CLUSTERS = ("cluster-1", "cluster-2", "cluster-3")


@pytest.fixture()
def kubeconfig(emulated: EmulatedFleet) -> Path:
    for cluster in CLUSTERS:
        emulated.add_cluster(cluster, objects=example_objects(cluster))
    return emulated.write_kubeconfig(emulated.directory / "kubeconfig.yaml", current_context="cluster-1")


@pytest.fixture()
def status(main_run, kubeconfig):
    """`tctl status -o json` of the live fleet, the example applied to it: (exit code, rows)."""
    applied = main_run("--kubeconfig", str(kubeconfig), "apply", "-f", str(EXAMPLE / "config"))
    assert applied.exit_code == 0, applied.stderr

    def run(*args: str) -> tuple[int, dict[tuple[str, str], dict]]:
        ran = main_run("--kubeconfig", str(kubeconfig), "status", "-o", "json", *args)
        assert "Traceback" not in ran.stderr
        rows = {(r["service"], r["cluster"]): r for r in json.loads(ran.stdout)["services"]}
        return ran.exit_code, rows

    return run


def test_applied_fleet_is_ready_and_in_sync(status):
    code, rows = status()
    assert code == 0
    assert sorted(rows) == [(s, c) for s in ("details.bookinfo", "reviews.bookinfo") for c in CLUSTERS]
    assert all(row["ready"] for row in rows.values())
    assert {o["sync"] for row in rows.values() for o in row["objects"]} == {"in-sync"}


def test_a_generated_object_deleted_by_hand_shows_missing(status, emulated):
    from kubernetes import client

    _, rows = status()
    [shadow, *_] = [
        o for o in rows[("details.bookinfo", "cluster-2")]["objects"] if o["kind"] == "WorkloadEntry"
    ]
    api = client.CustomObjectsApi(user_client(emulated, "cluster-2"))
    api.delete_namespaced_custom_object(
        "networking.istio.io", "v1", "bookinfo", "workloadentries", shadow["name"]
    )
    _, rows = status()
    states = {o["name"]: o["sync"] for o in rows[("details.bookinfo", "cluster-2")]["objects"]}
    assert states[shadow["name"]] == "missing"
    assert {s for name, s in states.items() if name != shadow["name"]} == {"in-sync"}


def test_a_cluster_down_is_unreadable_in_its_rows_and_exits_4(status, emulated):
    status()  # applied while every cluster is up
    emulated["cluster-2"].stop()
    code, rows = status()
    assert code == 4
    for service in ("details.bookinfo", "reviews.bookinfo"):
        down = rows[(service, "cluster-2")]
        assert (down["role"], down["ready"]) == ("unknown", False)
        assert [r["reason"] for r in down["reasons"]] == ["cluster-unreadable"]
        alone = rows[(service, "cluster-1")]  # its failover peer cannot be seen
        assert (alone["role"], [r["reason"] for r in alone["reasons"]]) == ("origin", ["cluster-unreadable"])
        consumer = rows[(service, "cluster-3")]
        assert consumer["ready"] and consumer["first"] == ["cluster-1"]


def test_describe_shows_the_last_runs_per_object_as_events(status, main_run, kubeconfig):
    status()  # applied: every object created by `tctl apply`

    def events() -> list[str]:
        ran = main_run("--kubeconfig", str(kubeconfig), "describe", "service", "details", "-n", "bookinfo")
        assert ran.exit_code == 0, ran.stderr
        return [" ".join(line.split()) for line in ran.stdout.split("Events:\n")[1].splitlines()[1:]]

    applied = events()
    # cluster-1: its Gateway, a shadow WorkloadEntry per address of cluster-2 (2) and the
    # DestinationRule; cluster-2: the same with cluster-1's 3 addresses; cluster-3: the ServiceEntry
    assert len(applied) == (1 + 2 + 1) + (1 + 3 + 1) + 1
    assert all(" tctl apply " in line and line.endswith(" created -") for line in applied)
    sync = main_run("--kubeconfig", str(kubeconfig), "sync", "--cluster", "cluster-3")
    assert sync.exit_code == 0, sync.stderr
    after = events()
    assert [line.split(" ", 1)[1] for line in after if " cluster-3 " in line] == [
        "tctl sync cluster-3 ServiceEntry xcp-multicluster/details.bookinfo unchanged -"
    ]
    assert [line for line in after if "cluster-1" in line] == [
        line for line in applied if "cluster-1" in line
    ]

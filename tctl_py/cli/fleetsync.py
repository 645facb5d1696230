"""Reconciling the fleet: read what tctl owns in each cluster, plan, and (unless a dry run) write.

Shared by `apply`, `sync`, `delete`, `diff` and the SYNC column of `get`. The plan itself is
pure (`tctl_py.reconcile.plan`); this module only reads, writes and collects outcomes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tctl_py.cli.meshview import Fleet
    from tctl_py.mesh import MeshConfig, MeshResult
    from tctl_py.reconcile.ownership import Ownership
    from tctl_py.reconcile.plan import Step

# Desired objects missing from a namespace from which one list replaces a get by name each.
_LIST_FROM = 4

# What a write step became: the plan's action, "conflict" when the API server refused it,
# "failed" when the API failed, "not done" when it was not tried (interrupted).
Outcome = str


@dataclass
class Reconciliation:
    result: MeshResult
    steps: list[Step] = field(default_factory=list)
    outcomes: dict[int, Outcome] = field(default_factory=dict)  # index in steps -> outcome
    refusals: dict[int, str] = field(default_factory=dict)  # index in steps -> why refused
    # cluster -> objects a server dry run could not send: their namespace does not exist yet
    unvalidated: dict[str, list[str]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # cluster -> what went wrong
    unreachable: set[str] = field(default_factory=set)

    def outcome(self, index: int) -> Outcome:
        return self.outcomes.get(index, self.steps[index].action.value)

    @property
    def changes(self) -> list[Step]:
        return [step for step in self.steps if step.writes]

    @property
    def conflicts(self) -> list[int]:
        return [i for i in range(len(self.steps)) if self.outcome(i) == "conflict"]


def reconcile(
    config: MeshConfig,
    fleet: Fleet,
    *,
    ownership: Ownership,
    write: bool,
    server_dry_run: bool = False,
    force_conflicts: bool = False,
    clusters: Sequence[str] | None = None,
    baseline: MeshConfig | None = None,
    result: MeshResult | None = None,
    on_cluster: Callable[[str, str], None] | None = None,
) -> Reconciliation:
    """Plan every readable cluster (or those named), and with `write` carry the plan out.

    A snapshot fleet is never written. It holds no generated objects, so its clusters are taken
    to hold what `baseline` (the configuration before this change; default `config`) generates:
    the plan then shows what the change of configuration changes.
    `ownership`: which managed objects the plan may prune or update (SPEC §3.3).
    `on_cluster(name, status)` reports progress ("reading", "read", "writing", "done", "failed").
    """
    from tctl_py.cli import meshview
    from tctl_py.reconcile.plan import plan

    result = result or meshview.compute(config, fleet)  # callers that computed it pass it in
    unreachable = {state.name for state in fleet.states if not state.reachable}
    targets = [
        name for name in fleet.names() if name not in unreachable and (clusters is None or name in clusters)
    ]
    outcome = Reconciliation(result, unreachable=unreachable)
    if not fleet.live:
        before = result if baseline is None else meshview.compute(baseline, fleet)
        live = _snapshot_objects(fleet, before, targets)
    else:
        live = _read_owned(fleet, result, targets, outcome.failed, on_cluster)
    readable = [name for name in targets if name not in outcome.failed]
    outcome.steps = plan(
        result.objects,
        live,
        ownership=ownership,
        unreachable=unreachable | set(outcome.failed),
        unsettled=result.held_origins,
        force_conflicts=force_conflicts,
        clusters=readable,
    )
    if write and fleet.live and outcome.changes:
        _execute(fleet, outcome, server_dry_run, on_cluster)
    return outcome


def _snapshot_objects(fleet: Fleet, before: MeshResult, targets: Sequence[str]) -> dict[str, list[dict]]:
    """Per cluster: the snapshot's Namespaces and DestinationRules (a user's DestinationRule is
    a conflict), with what the configuration before the change generates in their place."""
    objects: dict[str, dict[tuple, dict]] = {name: {} for name in targets}
    for state in fleet.states:
        if state.name in objects:
            for body in (*state.namespaces, *state.destination_rules):
                objects[state.name][_identity(body)] = body
    for obj in before.objects:
        if obj.cluster in objects:
            objects[obj.cluster][_identity(obj.body)] = obj.body
    return {name: list(found.values()) for name, found in objects.items()}


def _read_owned(
    fleet: Fleet, result: MeshResult, targets: Sequence[str], failed: dict[str, str], on_cluster
) -> dict[str, list[dict]]:
    """Per cluster: objects labelled as tctl's, plus any object a desired name would take.

    Namespaces and DestinationRules were read whole with the fleet; ServiceEntries,
    WorkloadEntries and Gateways are listed by label, then looked for only for desired objects
    not found (so a second, unchanged apply reads nothing more): none in a namespace the cluster
    does not have (a first apply's xcp-multicluster), one unlabelled list of the namespace when
    `_LIST_FROM` or more are missing there, else a get by name each.
    """
    from tctl_py.fleet.objects import GATEWAYS, SERVICE_ENTRIES, WORKLOAD_ENTRIES
    from tctl_py.fleet.parallel import run_per_cluster
    from tctl_py.fleet.writer import resource_for

    states = {state.name: state for state in fleet.states}
    desired: dict[str, list[dict]] = {}
    for obj in result.objects:
        desired.setdefault(obj.cluster, []).append(obj.body)

    def read(name: str) -> list[dict]:
        if on_cluster:
            on_cluster(name, "reading")
        state = states[name]
        namespaces = {(ns.get("metadata") or {}).get("name") for ns in state.namespaces}
        with fleet.client(name) as client:
            found = [
                *state.namespaces,
                *state.destination_rules,
                *client.list_managed([SERVICE_ENTRIES, WORKLOAD_ENTRIES, GATEWAYS]),
            ]
            known = {_identity(obj) for obj in found}
            missing: dict[tuple[str, str, str], list[dict]] = {}  # (apiVersion, kind, ns) -> bodies
            for body in desired.get(name, ()):
                namespace = body["metadata"].get("namespace") or ""
                if (
                    _identity(body) not in known
                    and body["kind"] not in ("Namespace", "DestinationRule")
                    and namespace in namespaces
                ):
                    missing.setdefault((body["apiVersion"], body["kind"], namespace), []).append(body)
            for (api_version, kind, namespace), bodies in missing.items():
                if len(bodies) >= _LIST_FROM:
                    wanted = {_identity(body) for body in bodies}
                    found += [
                        obj
                        for obj in client.list_managed(
                            [resource_for(api_version, kind)], selector="", namespace=namespace
                        )
                        if _identity(obj) in wanted
                    ]
                    continue
                for body in bodies:
                    other = client.get(api_version, kind, namespace, body["metadata"]["name"])
                    if other is not None:
                        found.append(other)
        return found

    live: dict[str, list[dict]] = {}
    for name, value in run_per_cluster(targets, read).items():
        if isinstance(value, BaseException):
            failed[name] = _message(value)
            if on_cluster:
                on_cluster(name, "failed")
        else:
            live[name] = value
            if on_cluster:
                on_cluster(name, "read")
    return live


def _identity(body: dict) -> tuple[str, str, str]:
    meta = body.get("metadata") or {}
    return (body.get("kind", ""), meta.get("namespace", "") or "", meta.get("name", ""))


def _execute(fleet: Fleet, outcome: Reconciliation, server_dry_run: bool, on_cluster) -> None:
    """Carry out each cluster's write steps, clusters in parallel; in a cluster, in plan order.
    A refused object (a conflict) does not stop its cluster; an API failure stops that cluster
    only, and its remaining steps are reported as failed. Once the fleet's `interrupt.stop` is
    set (Ctrl-C, SIGTERM), no cluster starts another write: the steps left are "not done"."""
    from tctl_py.errors import ConflictError, TctlError
    from tctl_py.fleet.parallel import run_per_cluster
    from tctl_py.reconcile.plan import Action

    stop = fleet.interrupt.stop
    fleet.interrupt.writes_started()
    by_cluster: dict[str, list[int]] = {}
    for index, step in enumerate(outcome.steps):
        if step.writes:
            by_cluster.setdefault(step.cluster, []).append(index)

    def write(name: str) -> tuple[dict[int, Outcome], str]:
        if on_cluster:
            on_cluster(name, "writing")
        done: dict[int, Outcome] = {}
        pending = list(by_cluster[name])
        error = ""
        try:
            with fleet.client(name) as client:
                while pending and not stop.is_set():
                    step = outcome.steps[pending[0]]
                    try:
                        if step.desired is None:
                            client.delete(
                                step.api_version,
                                step.kind,
                                step.namespace or None,
                                step.name,
                                dry_run=server_dry_run,
                            )
                        else:
                            # Forced for every update: a managed object is tctl's even where
                            # someone edited a field (the edit is the drift being repaired), and
                            # an unmanaged one is only updated under --force-conflicts.
                            client.apply(
                                step.desired, force=step.action is Action.UPDATE, dry_run=server_dry_run
                            )
                    except ConflictError as refused:
                        done[pending[0]] = "conflict"
                        outcome.refusals[pending[0]] = refused.message
                    pending.pop(0)
                if client.unvalidated:
                    outcome.unvalidated[name] = list(client.unvalidated)
        except TctlError as failure:  # the API failed (or refused an object it cannot take)
            error = failure.message
            if pending:
                done[pending.pop(0)] = "failed"  # the step that failed
        if stop.is_set() and pending:
            done.update({index: "not done" for index in pending})
            error = "; ".join(
                filter(
                    None, [error, f"interrupted: {len(pending)} of {len(by_cluster[name])} writes not done"]
                )
            )
        else:
            done.update({index: "failed" for index in pending})
        return done, error

    for name, value in run_per_cluster(sorted(by_cluster), write).items():
        if isinstance(value, BaseException):  # a bug: still only this cluster's failure
            value = ({index: "failed" for index in by_cluster[name]}, _message(value))
        done, error = value
        outcome.outcomes.update(done)
        if error:
            outcome.failed[name] = error
        if on_cluster:
            on_cluster(name, "failed" if error else "done")


def _message(error: BaseException) -> str:
    from tctl_py.errors import TctlError

    if isinstance(error, TctlError):
        return error.message
    return f"{type(error).__name__}: {error}"

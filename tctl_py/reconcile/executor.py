"""Reconciling clusters: observe what is there, compute what is desired, plan, act.

The one reconcile path of tctl, for `apply`, `sync`, `delete`, `diff`, the SYNC column of `get`
and IngressGateway installs:

- `observe`: read what tctl owns in each cluster (and whatever holds a name it needs);
- `desired`: what the engine generates for the clusters asked about;
- `plan` (`tctl_py.reconcile.plan`, pure): one `Step` per object;
- `act`: carry out the write steps, clusters in parallel, and within a cluster wave by wave
  (`write_wave`: the Namespace before what goes in it, DestinationRules before WorkloadEntries;
  prunes in the reverse order), at most `--concurrency` writes at once within a wave.

Each step ends as a `StepResult` with its `Outcome`. The work goes through the `Fleet`'s clients
(`tctl_py.fleet`); nothing here prints, and `kubernetes` is never imported here.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from tctl_py.errors import ConflictError, TctlError
from tctl_py.fleet.parallel import run_bounded, run_per_cluster
from tctl_py.reconcile.plan import Step, object_identity, plan, plan_installs, plan_uninstalls, write_wave

if TYPE_CHECKING:
    from tctl_py.fleet.loader import Fleet
    from tctl_py.mesh import MeshConfig, MeshResult
    from tctl_py.reconcile.ownership import Ownership

# Desired objects missing from a namespace from which one list replaces a get by name each.
_LIST_FROM = 4

# Progress of one cluster, for `on_cluster(name, status)`:
# "reading", "read", "writing", "done", "failed".
OnCluster = Callable[[str, str], None]


class Outcome(StrEnum):
    """What became of one step: the plan's action (the values are `Action`'s), or what the
    API server made of its write."""

    CREATED = "created"
    CONFIGURED = "configured"
    PRUNED = "pruned"
    DELETED = "deleted"
    UNCHANGED = "unchanged"
    CONFLICT = "conflict"  # planned, or refused by the API server (a field-manager conflict)
    KEPT = "kept"
    OWNED_ELSEWHERE = "owned elsewhere"
    FAILED = "failed"  # the API failed, or its cluster stopped on an earlier failure
    NOT_DONE = "not done"  # not tried: the run was interrupted (Ctrl-C, SIGTERM) or lost its write gate


@dataclass
class StepResult:
    """One step and what became of it; `refusal`: the API server's reason for a conflict."""

    step: Step
    outcome: Outcome
    refusal: str = ""

    @classmethod
    def planned(cls, step: Step) -> StepResult:
        return cls(step, Outcome(step.action.value))

    @property
    def reason(self) -> str:
        """Why the object was left as it is ("" when it was not): the server's refusal, or the
        plan's reason for a conflict, a kept object or one owned elsewhere."""
        if self.refusal:
            return self.refusal
        if self.outcome in (Outcome.CONFLICT, Outcome.KEPT, Outcome.OWNED_ELSEWHERE):
            return self.step.reason
        return ""


@dataclass
class Reconciliation:
    """A reconcile's plan and results. `result`: the engine's (None for installs);
    `unvalidated`: cluster -> objects a server dry run could not send, their namespace not
    existing yet; `failed`: cluster -> what went wrong; `unreachable`: clusters not read."""

    result: MeshResult | None
    results: list[StepResult] = field(default_factory=list)
    unvalidated: dict[str, list[str]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    unreachable: set[str] = field(default_factory=set)

    @property
    def steps(self) -> list[Step]:
        return [result.step for result in self.results]

    @property
    def changes(self) -> list[Step]:
        """The steps that write (or would, in a dry run)."""
        return [result.step for result in self.results if result.step.writes]

    @property
    def conflicts(self) -> list[StepResult]:
        return [result for result in self.results if result.outcome is Outcome.CONFLICT]


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
    on_cluster: OnCluster | None = None,
    managed: Mapping[str, Sequence[dict]] | None = None,
    may_write: Callable[[], bool] | None = None,
) -> Reconciliation:
    """Plan every readable cluster (or those named), and with `write` carry the plan out.

    A snapshot fleet is never written. It holds no generated objects, so its clusters are taken
    to hold what `baseline` (the configuration before this change; default `config`) generates:
    the plan then shows what the change of configuration changes.
    `ownership`: which managed objects the plan may prune or update (SPEC §3.3). `result`: the
    engine's result when the caller already computed it. `managed`: per cluster, the
    ServiceEntries, WorkloadEntries and Gateways tctl manages there, when the caller keeps them
    up to date (a watch); they are then not listed again (clusters missing from it are).
    Without it, those the fleet listed with its state (`Fleet.take_managed`) are used.
    `may_write`: asked before every write (the controller's Lease); once false, no write starts.
    """
    unreachable = {state.name for state in fleet.states if not state.reachable}
    targets = [
        name for name in fleet.names() if name not in unreachable and (clusters is None or name in clusters)
    ]
    result = result or desired(config, fleet, clusters)
    outcome = Reconciliation(result, unreachable=unreachable)
    if not fleet.live:
        before = result if baseline is None else desired(baseline, fleet, clusters)
        live = _snapshot_objects(fleet, before, targets)
    else:
        known = managed if managed is not None else fleet.take_managed(targets)
        live = observe(fleet, result, targets, outcome.failed, on_cluster, known)
    readable = [name for name in targets if name not in outcome.failed]
    steps = plan(
        result.objects,
        live,
        ownership=ownership,
        unreachable=unreachable | set(outcome.failed),
        unsettled=result.held_origins,
        force_conflicts=force_conflicts,
        clusters=readable,
    )
    outcome.results = [StepResult.planned(step) for step in steps]
    if write and fleet.live:
        act(fleet, outcome, server_dry_run=server_dry_run, on_cluster=on_cluster, may_write=may_write)
    return outcome


def install(
    fleet: Fleet,
    bodies: Sequence[Mapping],
    clusters: Sequence[str],
    *,
    write: bool,
    server_dry_run: bool = False,
    remove: bool = False,
    on_cluster: OnCluster | None = None,
) -> Reconciliation:
    """Install `bodies` (IngressGateway documents) in each of `clusters`: read each by name,
    plan (`plan_installs`: created, configured or unchanged; never pruned), and with `write`
    apply them, through the same executor as `reconcile`; with `remove`, delete them instead
    (`plan_uninstalls`). A snapshot fleet holds none of them and is never written."""
    outcome = Reconciliation(None)
    if fleet.live:

        def read(client) -> list[dict]:
            found = []
            for body in bodies:
                meta = body["metadata"]
                obj = client.get(body["apiVersion"], body["kind"], meta.get("namespace"), meta["name"])
                if obj is not None:
                    found.append(obj)
            return found

        live = _per_cluster(fleet, clusters, read, outcome.failed, on_cluster)
    else:
        live = {name: [] for name in clusters}
    outcome.results = [
        StepResult.planned(step)
        for name in clusters
        if name in live
        for step in (plan_uninstalls if remove else plan_installs)(name, bodies, live[name])
    ]
    if write and fleet.live:
        act(fleet, outcome, server_dry_run=server_dry_run, on_cluster=on_cluster)
    return outcome


def desired(config: MeshConfig, fleet: Fleet, clusters: Sequence[str] | None = None) -> MeshResult:
    """What the engine generates for `clusters` (default: every cluster). Every cluster's state
    is read by the engine all the same: an object's endpoints come from the others.

    The one call of the engine on the reconcile path: objects are generated only for the
    clusters asked for (the engine's scoped compute).
    """
    from tctl_py.mesh import compute

    return compute(config, fleet.states, clusters=clusters)


# -- observe --------------------------------------------------------------------------------------


def _snapshot_objects(fleet: Fleet, before: MeshResult, targets: Sequence[str]) -> dict[str, list[dict]]:
    """Per cluster: the snapshot's Namespaces and DestinationRules (a user's DestinationRule is
    a conflict), with what the configuration before the change generates in their place."""
    objects: dict[str, dict[tuple, dict]] = {name: {} for name in targets}
    for state in fleet.states:
        if state.name in objects:
            for body in (*state.namespaces, *state.destination_rules):
                objects[state.name][object_identity(body)] = body
    for obj in before.objects:
        if obj.cluster in objects:
            objects[obj.cluster][object_identity(obj.body)] = obj.body
    return {name: list(found.values()) for name, found in objects.items()}


def observe(
    fleet: Fleet,
    result: MeshResult,
    targets: Sequence[str],
    failed: dict[str, str],
    on_cluster: OnCluster | None = None,
    managed: Mapping[str, Sequence[dict]] | None = None,
) -> dict[str, list[dict]]:
    """Per cluster of `targets`: objects labelled as tctl's, plus any object a desired name
    would take; a cluster that cannot be read goes to `failed` with why. `managed`: the
    labelled ServiceEntries, WorkloadEntries and Gateways of each cluster, if already known.

    Namespaces and DestinationRules were read whole with the fleet; ServiceEntries,
    WorkloadEntries and Gateways are listed by label, then looked for only for desired objects
    not found (so a second, unchanged apply reads nothing more): none in a namespace the cluster
    does not have (a first apply's xcp-multicluster), one unlabelled list of the namespace when
    `_LIST_FROM` or more are missing there, else a get by name each.
    """
    from tctl_py.fleet.client import resource_for
    from tctl_py.fleet.objects import MANAGED_RESOURCES

    states = {state.name: state for state in fleet.states}
    desired_bodies: dict[str, list[dict]] = {}
    for obj in result.objects:
        desired_bodies.setdefault(obj.cluster, []).append(obj.body)

    def read(client) -> list[dict]:
        state = states[client.name]
        namespaces = {(ns.get("metadata") or {}).get("name") for ns in state.namespaces}
        found = [
            *state.namespaces,
            *state.destination_rules,
            *(
                cached
                if (cached := (managed or {}).get(client.name)) is not None
                else client.list_managed(MANAGED_RESOURCES)
            ),
        ]
        known = {object_identity(obj) for obj in found}
        missing: dict[tuple[str, str, str], list[dict]] = {}  # (apiVersion, kind, ns) -> bodies
        for body in desired_bodies.get(client.name, ()):
            namespace = body["metadata"].get("namespace") or ""
            if (
                object_identity(body) not in known
                and body["kind"] not in ("Namespace", "DestinationRule")
                and namespace in namespaces
            ):
                missing.setdefault((body["apiVersion"], body["kind"], namespace), []).append(body)
        for (api_version, kind, namespace), bodies in missing.items():
            if len(bodies) >= _LIST_FROM:
                wanted = {object_identity(body) for body in bodies}
                found += [
                    obj
                    for obj in client.list_managed(
                        [resource_for(api_version, kind)], selector="", namespace=namespace
                    )
                    if object_identity(obj) in wanted
                ]
                continue
            for body in bodies:
                other = client.get(api_version, kind, namespace, body["metadata"]["name"])
                if other is not None:
                    found.append(other)
        return found

    return _per_cluster(fleet, targets, read, failed, on_cluster)


def _per_cluster(
    fleet: Fleet,
    names: Sequence[str],
    read: Callable,
    failed: dict[str, str],
    on_cluster: OnCluster | None,
) -> dict[str, list[dict]]:
    """`read(client)` for each cluster through its client, clusters in parallel; a cluster whose
    read raised goes to `failed`."""

    def work(name: str) -> list[dict]:
        if on_cluster:
            on_cluster(name, "reading")
        return read(fleet.client(name))

    live: dict[str, list[dict]] = {}
    for name, value in run_per_cluster(names, work).items():
        if isinstance(value, BaseException):
            failed[name] = _message(value)
            if on_cluster:
                on_cluster(name, "failed")
        else:
            live[name] = value
            if on_cluster:
                on_cluster(name, "read")
    return live


# -- act ------------------------------------------------------------------------------------------


def act(
    fleet: Fleet,
    outcome: Reconciliation,
    *,
    server_dry_run: bool = False,
    on_cluster: OnCluster | None = None,
    may_write: Callable[[], bool] | None = None,
) -> None:
    """Carry out each cluster's write steps (setting their outcomes), clusters in parallel.

    Within a cluster, wave by wave in plan order (see `write_wave`), at most
    `fleet.options.concurrency` writes at once within a wave. A refused object (a
    conflict) does not stop its cluster; an API failure stops it: writes in flight finish, no
    other starts, and the steps left are failed. Once the fleet's `interrupt.stop` is set
    (Ctrl-C, SIGTERM), or `may_write` says no (a controller that lost its Lease), no cluster
    starts another write: the steps left are "not done".
    """
    by_cluster: dict[str, list[StepResult]] = {}
    for result in outcome.results:
        if result.step.writes:
            by_cluster.setdefault(result.step.cluster, []).append(result)
    if not by_cluster:
        return
    fleet.interrupt.writes_started()

    def write(name: str) -> tuple[str, list[str]]:
        if on_cluster:
            on_cluster(name, "writing")
        return _write_cluster(fleet, name, by_cluster[name], server_dry_run, may_write)

    def done(name: str, value: tuple[str, list[str]] | BaseException) -> None:
        """As soon as a cluster is done, not once they all are: its result and progress."""
        if isinstance(value, BaseException):  # a bug: still only this cluster's failure
            for result in by_cluster[name]:
                result.outcome = Outcome.FAILED
            value = (_message(value), [])
        error, unvalidated = value
        if unvalidated:
            outcome.unvalidated[name] = unvalidated
        if error:
            outcome.failed[name] = error
        if on_cluster:
            on_cluster(name, "failed" if error else "done")

    run_per_cluster(sorted(by_cluster), write, on_done=done)


def _write_cluster(
    fleet: Fleet,
    name: str,
    results: list[StepResult],
    server_dry_run: bool,
    may_write: Callable[[], bool] | None = None,
) -> tuple[str, list[str]]:
    """Write one cluster's steps; (what went wrong or "", objects a server dry run could not
    send). Sets each result's outcome: a write not tried is failed, or "not done" if stopped."""
    stop = fleet.interrupt.stop
    started: set[int] = set()
    failures: dict[int, str] = {}  # index in results -> the API's error

    try:
        client = fleet.client(name)
    except TctlError as failure:  # the context cannot be turned into a client
        for result in results:
            result.outcome = Outcome.FAILED
        return failure.message, []
    already_unvalidated = len(client.unvalidated)

    def write(index: int) -> None:
        started.add(index)
        result = results[index]
        step = result.step
        try:
            if step.desired is None:
                client.delete(
                    step.api_version, step.kind, step.namespace or None, step.name, dry_run=server_dry_run
                )
            else:
                client.apply(step.desired, force=step.force, dry_run=server_dry_run, answer=False)
        except ConflictError as refused:
            result.outcome, result.refusal = Outcome.CONFLICT, refused.message
        except Exception as failure:  # noqa: BLE001 - the API failed (or a bug): this cluster stops
            result.outcome = Outcome.FAILED
            failures[index] = _message(failure)

    def halted() -> bool:
        return stop.is_set() or (may_write is not None and not may_write())

    def proceed() -> bool:
        return not failures and not halted()

    waves = itertools.groupby(range(len(results)), key=lambda i: write_wave(results[i].step))
    for _, indices in waves:
        if not proceed():
            break
        run_bounded(list(indices), write, limit=fleet.options.concurrency, proceed=proceed)
    left = [result for index, result in enumerate(results) if index not in started]
    stopped = halted()
    for result in left:
        result.outcome = Outcome.NOT_DONE if stopped else Outcome.FAILED
    error = failures[min(failures)] if failures else ""
    if stopped and left:
        why = "interrupted" if stop.is_set() else "no longer allowed to write"
        error = "; ".join(filter(None, [error, f"{why}: {len(left)} of {len(results)} writes not done"]))
    return error, list(client.unvalidated[already_unvalidated:])


def _message(error: BaseException) -> str:
    if isinstance(error, TctlError):
        return error.message
    return f"{type(error).__name__}: {error}"

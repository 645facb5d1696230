"""`tctl describe service NAME -n NS`: one exposed service across the fleet, as kubectl describe
lays things out."""

from __future__ import annotations

from typing import Optional

import typer

from tctl_py.cli.common import Suppress, open_store, out

HELP = """Describe how one service is exposed across the fleet, in kubectl describe's layout: per cluster, the decision and the SPEC rule that made it (rule 1 coverage, 3 exposed origin, 4 ServiceEntry, 6 shadow WorkloadEntries and failover DestinationRule), where traffic goes first and fails over to, the gateway addresses dialled, the generated objects (with their sync state on a live fleet), and whether failover is ready; then the findings about the service, and as events what the last apply, sync or delete did to each of its objects (kept in the store).

Exit codes: 0 described (ready or not: `tctl status` is the gate); 3 the service is not exposed; 4 a cluster could not be read.
"""

# What each rule number means for one cluster, in the words of SPEC §4.
RULES = {
    0: "the cluster could not be read: nothing is known or generated (rule 10: no evidence of absence)",
    1: "rule 1: the exposing workspace does not cover this namespace here",
    3: "rule 3: exposed here through the cluster's East-West gateway",
    4: "rule 4: no local Service, so a ServiceEntry to the origins' gateways",
    6: "rules 5-7: the local Service wins; shadow WorkloadEntries and a failover DestinationRule",
}


def command(
    kind: str = typer.Argument(..., metavar="service", help="What to describe: service (svc)."),
    name: str = typer.Argument(..., help="Name of the Service."),
    namespace: str = typer.Option(..., "-n", "--namespace", help="Namespace of the Service."),
    suppress: Optional[list[str]] = Suppress,
) -> None:
    from tctl_py.cli import meshview
    from tctl_py.cli.generated import sync_states
    from tctl_py.cli.report import FINDINGS, exit_for_unreachable, finding_line, visible_findings
    from tctl_py.errors import NotFound, UsageError
    from tctl_py.mesh import Exposed
    from tctl_py.mesh.status import service_status
    from tctl_py.store import KeepsSyncHistory

    if kind not in ("service", "services", "svc"):
        raise UsageError(f'cannot describe "{kind}"', hint="tctl describe service NAME -n NAMESPACE")
    FINDINGS.start(suppress)
    with open_store() as store:
        config = meshview.mesh_config(store)
        ownership = meshview.ownership(store, config)
        # a store that keeps no sync history (Kubernetes) describes without events
        history = store.sync_history() if isinstance(store, KeepsSyncHistory) else []
    fleet = meshview.load_fleet(config)
    exposed = Exposed(config, fleet.states)
    result = exposed.result()
    rows = [row for row in service_status(exposed, result) if (row.namespace, row.name) == (namespace, name)]
    if not rows:
        raise NotFound(
            f'service "{name}" in namespace "{namespace}" is not exposed by any workspace setting',
            hint="`tctl status` lists the exposed services",
        )
    readable = [s.name for s in fleet.states if s.reachable]
    sync = sync_states(config, fleet, result, readable, ownership) if fleet.live else None
    host = f"{name}.{namespace}.svc.cluster.local"
    about = [
        f
        for f in result.findings
        if f.subject == f"service {namespace}/{name}"
        or f.subject.startswith("gateway ")  # every exposed service goes through them
        or (f.subject.startswith("DestinationRule ") and host in f.message)
    ]
    shown, suppressed = visible_findings(about)
    exposure = exposed.services.get((namespace, name))
    lines = [
        f"Name:         {name}",
        f"Namespace:    {namespace}",
        f"Host:         {host}",
        f"Exposed by:   {exposure.lead.gateway.setting.fqn if exposure else '<no origin with an address>'}",
        f"Origins:      {', '.join(o.cluster for o in exposure.origins) if exposure else '<none>'}",
        f"Ready:        {sum(r.ready for r in rows)}/{len(rows)} clusters",
        "Clusters:",
    ]
    for row in rows:
        lines += _cluster_lines(row, sync)
    lines.append("Findings:")
    lines += [f"  {finding_line(f)}" for f in shown] or ["  <none>"]
    if suppressed:
        lines.append(f"  ({len(suppressed)} suppressed)")
    lines.append("Events:")
    lines += _events(history, rows, namespace, name)
    out("\n".join(lines) + "\n")
    exit_for_unreachable(fleet.states, fleet.names(), result.held_origins)


def _events(history, rows, namespace: str, name: str) -> list[str]:
    """The last recorded apply/sync/delete of each object of the service (those pruned since
    included), as a table in kubectl's events style."""
    from tctl_py.output.tables import plain_lines

    current = {(row.cluster, o.kind, o.namespace, o.name) for row in rows for o in row.objects}

    def concerns(record) -> bool:
        if (record.cluster, record.kind, record.namespace, record.name) in current:
            return True
        if record.kind in ("ServiceEntry", "DestinationRule"):
            return record.name == f"{name}.{namespace}"
        return (
            record.kind == "WorkloadEntry"
            and record.namespace == namespace
            and record.name.startswith(f"k-{name}-")
        )

    cells = [
        [r.at, r.command, r.cluster, f"{r.kind} {r.namespace}/{r.name}", r.outcome, r.reason or "-"]
        for r in history
        if concerns(r)
    ]
    if not cells:
        return ["  <none>"]
    return [
        "  " + line.rstrip("\n")
        for line in plain_lines(["AT", "FROM", "CLUSTER", "OBJECT", "OUTCOME", "REASON"], cells)
    ]


def _cluster_lines(row, sync: dict[tuple, str] | None) -> list[str]:
    lines = [
        f"  {row.cluster}:",
        f"    Role:       {row.role}",
        f"    Decision:   {RULES[row.rule]}",
    ]
    if row.first:
        first = "local" if row.first == (row.cluster,) else ", ".join(row.first)
        lines.append(
            f"    Traffic:    {first} first"
            + (f", fails over to {', '.join(row.failover)}" if row.failover else "")
        )
    for index, (cluster, addresses) in enumerate(row.addresses):
        lead = "    Gateways:   " if index == 0 else "                "
        lines.append(f"{lead}{cluster} {', '.join(addresses)}")
    for index, ref in enumerate(row.objects):
        lead = "    Objects:    " if index == 0 else "                "
        state = (
            ""
            if sync is None
            else f" ({sync.get((row.cluster, ref.kind, ref.namespace, ref.name), 'unknown')})"
        )
        lines.append(f"{lead}{ref.kind} {ref.namespace}/{ref.name}{state}")
    lines.append(f"    Ready:      {'yes' if row.ready else 'no'}")
    lines += [f"      {blocker.reason}: {blocker.detail}" for blocker in row.blockers]
    return lines

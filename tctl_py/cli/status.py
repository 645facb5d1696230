"""`tctl status`: for each exposed service and cluster, its role, where traffic goes, and whether
failover is ready (SPEC §11)."""

from __future__ import annotations

import enum
import sys
from typing import Optional

import typer

from tctl_py.cli.common import Suppress, err, open_store, out

HELP = """Show, for every exposed service and every cluster of the fleet, the cluster's role (origin, consumer through a ServiceEntry, local+failover, not-covered, unknown), where traffic goes first and where it fails over to, the gateway addresses dialled, the generated objects and whether they are in sync, and whether failover is ready — with the reason when it is not.

NAME.NAMESPACE (e.g. details.bookinfo) shows one service. Reasons: cluster-unreadable, no-remote-origin, gateway-pending, gateway-missing, gateway-outside-workspace, gateway-address-invalid, hostname-address, shared-network, user-destinationrule, unnamed-ports, local-service-unsupported, workspace-not-spanning (docs/status.md).

Exit codes: 0 every row is ready; 6 some service is not ready; 4 a cluster could not be read (its rows say cluster-unreadable); 3 NAME.NAMESPACE is not an exposed service.
"""


class Output(str, enum.Enum):
    table = "table"
    wide = "wide"
    json = "json"
    yaml = "yaml"


def command(
    service: Optional[str] = typer.Argument(None, metavar="[NAME.NAMESPACE]", help="One exposed service."),
    output: Output = typer.Option(Output.table, "-o", "--output", help="Output format."),
    suppress: Optional[list[str]] = Suppress,
) -> None:
    from tctl_py.cli import meshview
    from tctl_py.cli.generated import sync_states
    from tctl_py.cli.report import FINDINGS, finding_json, report_findings, unreadable, visible_findings
    from tctl_py.errors import ExitCode, NotFound
    from tctl_py.mesh import Exposed
    from tctl_py.mesh.status import service_status

    FINDINGS.start(suppress)
    with open_store() as store:
        config = meshview.mesh_config(store)
        ownership = meshview.ownership(store, config)
    fleet = meshview.load_fleet(config)
    exposed = Exposed(config, fleet.states)
    result = exposed.result()
    rows = service_status(exposed, result)
    if service:
        rows = [row for row in rows if row.service == service]
        if not rows:
            raise NotFound(
                f'service "{service}" is not exposed by any workspace setting',
                hint="give NAME.NAMESPACE, e.g. details.bookinfo; `tctl status` lists the exposed services",
            )
    # A snapshot holds no generated objects: there is nothing to compare them with.
    readable = [s.name for s in fleet.states if s.reachable]
    sync = sync_states(config, fleet, result, readable, ownership) if fleet.live else None
    shown, suppressed = visible_findings(result.findings)
    if output in (Output.json, Output.yaml):
        from tctl_py.output.render import to_json, to_yaml

        document = {
            "ready": all(row.ready for row in rows),
            "services": [_row_json(row, sync) for row in rows],
            "findings": [finding_json(f) for f in shown],
            "suppressedFindings": [finding_json(f) for f in suppressed],
        }
        out(to_json(document) + "\n" if output is Output.json else to_yaml(document))
    else:
        report_findings(result.findings)
        if rows:
            _table(rows, sync, output is Output.wide)
        else:
            err("No exposed services found.\n")
    if unreadable(fleet.states, fleet.names()):
        raise typer.Exit(int(ExitCode.CLUSTER))
    if not all(row.ready for row in rows):
        raise typer.Exit(int(ExitCode.NOT_READY))


def _sync_of(row, sync: dict[tuple, str] | None) -> str:
    """One word for the row's objects: in-sync when all are, else the first that is not."""
    if sync is None:
        return "snapshot"
    states = [sync.get((row.cluster, o.kind, o.namespace, o.name), "unknown") for o in row.objects]
    return next((s for s in states if s != "in-sync"), "in-sync") if states else ""


def _row_json(row, sync: dict[tuple, str] | None) -> dict:
    return {
        "service": row.service,
        "namespace": row.namespace,
        "name": row.name,
        "cluster": row.cluster,
        "role": str(row.role),
        "rule": row.rule,
        "first": list(row.first),
        "failover": list(row.failover),
        "gateways": [{"cluster": c, "addresses": list(a)} for c, a in row.addresses],
        "objects": [
            {
                "kind": o.kind,
                "namespace": o.namespace,
                "name": o.name,
                "sync": None
                if sync is None
                else sync.get((row.cluster, o.kind, o.namespace, o.name), "unknown"),
            }
            for o in row.objects
        ],
        "ready": row.ready,
        "reasons": [{"reason": str(b.reason), "message": b.detail} for b in row.blockers],
    }


def _table(rows, sync: dict[tuple, str] | None, wide: bool) -> None:
    from tctl_py.output import tables

    headers = ["SERVICE", "CLUSTER", "ROLE", "FIRST", "FAILOVER", "READY", "REASON"]
    if wide:
        headers += ["ADDRESSES", "OBJECTS", "SYNC"]
    cells = []
    for row in rows:
        reasons = ",".join(dict.fromkeys(str(b.reason) for b in row.blockers))
        line = [
            row.service,
            row.cluster,
            str(row.role),
            ",".join(row.first) or "-",
            ",".join(row.failover) or "-",
            "yes" if row.ready else "no",
            reasons or "-",
        ]
        if wide:
            addresses = ",".join(a for _, each in row.addresses for a in each)
            kinds = ",".join(f"{o.kind}/{o.name}" for o in row.objects)
            line += [addresses or "-", kinds or "-", _sync_of(row, sync) or "-"]
        cells.append(line)
    tables.render(headers, cells, sys.stdout)

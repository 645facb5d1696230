"""`tctl clusters`: the fleet at a glance."""

from __future__ import annotations

import sys

import typer

from tctl_py.cli.common import open_store

HELP = """List the clusters of the fleet: server, network, locality, whether they could be read, how many Services they run, and the addresses of their East-West gateways.

Exits 4 when a cluster could not be read (after listing every cluster).
"""


def command(
    output: str = typer.Option(
        "table",
        "-o",
        "--output",
        metavar="FORMAT",
        help="table, wide (adds why a cluster could not be read), yaml or json (a List of one "
        "item per cluster, for machines).",
    ),
) -> None:
    from tctl_py.cli import meshview
    from tctl_py.cli.report import exit_for_unreachable
    from tctl_py.mesh import compute
    from tctl_py.output import render, tables
    from tctl_py.output.formats import parse_output

    fmt = parse_output(output, choices=("table", "wide", "yaml", "json"))
    with open_store() as store:
        config = meshview.mesh_config(store)
    fleet = meshview.load_fleet(config)
    shown = meshview.check_clusters(fleet, meshview.cluster_choice()) or fleet.names()
    # Only the gateways are shown: no object of any kind is generated.
    result = compute(config, fleet.states, kinds=())
    declared = {c["metadata"]["name"]: c.get("spec") or {} for c in config.clusters}
    addresses: dict[str, list[str]] = {}
    for gateway in result.gateways:
        addresses.setdefault(gateway.cluster, []).extend(
            a for a in gateway.addresses if a not in addresses.get(gateway.cluster, [])
        )
    items = []
    for state in fleet.states:
        if state.name not in shown:
            continue
        spec = declared.get(state.name, {})
        items.append(
            {
                "name": state.name,
                "server": fleet.servers.get(state.name, ""),
                "network": spec.get("network") or state.name,
                "locality": spec.get("locality") or {},
                "reachable": state.reachable,
                "services": len(state.services) if state.reachable else None,
                "gatewayAddresses": addresses.get(state.name, []),
                "gatewayPending": state.name in addresses
                and not addresses[state.name]
                and state.name not in result.held_origins,
                # its address annotation cannot be parsed (an error finding says why)
                "gatewayAddressInvalid": state.name in result.held_origins,
                "error": state.error or "",
            }
        )
    if fmt.name in render.FORMATS:
        printer = render.ListPrinter(render.FORMATS[fmt.name], sys.stdout.write)
        for item in items:
            printer.add(item)
        printer.close()
    else:
        headers = ["NAME", "SERVER", "NETWORK", "LOCALITY", "REACHABLE", "SERVICES", "GATEWAY ADDRESSES"]
        tables.render(
            headers + (["ERROR"] if fmt.name == "wide" else []),
            [_row(item, wide=fmt.name == "wide", live=fleet.live) for item in items],
            sys.stdout,
        )
    exit_for_unreachable(fleet.states, shown)


def _row(item: dict, *, wide: bool, live: bool) -> list[str]:
    locality = item["locality"]
    row = [
        item["name"],
        item["server"] or ("" if live else "(snapshot)"),
        item["network"],
        "/".join(p for p in (locality.get("region", ""), locality.get("zone", "")) if p),
        "yes" if item["reachable"] else "no",
        "" if item["services"] is None else str(item["services"]),
        ",".join(item["gatewayAddresses"])
        or ("<invalid>" if item["gatewayAddressInvalid"] else "<pending>" if item["gatewayPending"] else ""),
    ]
    return row + ([item["error"]] if wide else [])

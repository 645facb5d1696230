"""`tctl clusters`: the fleet at a glance."""

from __future__ import annotations

import sys

from tctl_py.cli.common import open_store

HELP = """List the clusters of the fleet: server, network, locality, whether they could be read, how many Services they run, and the addresses of their East-West gateways.

Exits 4 when a cluster could not be read (after listing every cluster).
"""


def command() -> None:
    from tctl_py.cli import meshview
    from tctl_py.cli.report import exit_for_unreachable
    from tctl_py.mesh import compute
    from tctl_py.output import tables

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
    rows = []
    for state in fleet.states:
        if state.name not in shown:
            continue
        spec = declared.get(state.name, {})
        locality = spec.get("locality") or {}
        rows.append(
            [
                state.name,
                fleet.servers.get(state.name, "") or ("(snapshot)" if not fleet.live else ""),
                spec.get("network") or state.name,
                "/".join(p for p in (locality.get("region", ""), locality.get("zone", "")) if p),
                "yes" if state.reachable else "no",
                str(len(state.services)) if state.reachable else "",
                ",".join(addresses.get(state.name, [])) or ("<pending>" if state.name in addresses else ""),
            ]
        )
    tables.render(
        ["NAME", "SERVER", "NETWORK", "LOCALITY", "REACHABLE", "SERVICES", "GATEWAY ADDRESSES"],
        rows,
        sys.stdout,
    )
    exit_for_unreachable(fleet.states, shown)

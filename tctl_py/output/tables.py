"""Tables of objects; columns per kind, `wide` adds the less common ones."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[dict], str]
    wide: bool = False


def _meta(field: str) -> Callable[[dict], str]:
    return lambda body: str(body.get("metadata", {}).get(field, ""))


def _spec(*path: str) -> Callable[[dict], str]:
    def get(body: dict) -> str:
        value: object = body.get("spec", {})
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, list):
            return ",".join(str(v) for v in value)
        return "" if value is None else str(value)

    return get


def _gateways(body: dict) -> str:
    gateways = body.get("spec", {}).get("defaultEastWestGatewaySettings") or []
    return ",".join(
        f"{g.get('workloadSelector', {}).get('namespace', '')}/"
        + ",".join(f"{k}={v}" for k, v in g.get("workloadSelector", {}).get("labels", {}).items())
        for g in gateways
    )


def _exposed(body: dict) -> str:
    gateways = body.get("spec", {}).get("defaultEastWestGatewaySettings") or []
    selectors = [
        ",".join(f"{k}={v}" for k, v in s.get("serviceLabels", {}).items())
        for g in gateways
        for s in g.get("exposedServices") or []
    ]
    if gateways and not selectors:
        return "<all>"
    return " | ".join(selectors)


def _endpoints(body: dict) -> str:
    return ",".join(e.get("address", "") for e in body.get("spec", {}).get("endpoints") or [])


def _ports(body: dict) -> str:
    spec = body.get("spec", {})
    if isinstance(spec.get("ports"), dict):  # WorkloadEntry: name -> number
        return ",".join(f"{k}:{v}" for k, v in spec["ports"].items())
    return ",".join(f"{p.get('number')}/{p.get('protocol', '')}" for p in spec.get("ports") or [])


def _failover(body: dict) -> str:
    locality = (
        body.get("spec", {}).get("trafficPolicy", {}).get("loadBalancer", {}).get("localityLbSetting", {})
    )
    return ",".join(locality.get("failoverPriority") or [])


def _servers_hosts(body: dict) -> str:
    return ",".join(h for s in body.get("spec", {}).get("servers") or [] for h in s.get("hosts") or [])


def _selector(body: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in (body.get("spec", {}).get("selector") or {}).items())


_NAME = Column("NAME", _meta("name"))
_DISPLAY = Column("DISPLAY NAME", _spec("displayName"))
_DESCRIPTION = Column("DESCRIPTION", _spec("description"), wide=True)

COLUMNS: dict[str, tuple[Column, ...]] = {
    "Organization": (_NAME, _DISPLAY, _DESCRIPTION),
    "Tenant": (_NAME, Column("ORGANIZATION", _meta("organization")), _DISPLAY, _DESCRIPTION),
    "Workspace": (
        _NAME,
        Column("TENANT", _meta("tenant")),
        Column("NAMESPACES", _spec("namespaceSelector", "names")),
        Column("ORGANIZATION", _meta("organization"), wide=True),
        _DISPLAY,
        _DESCRIPTION,
    ),
    "WorkspaceSetting": (
        _NAME,
        Column("WORKSPACE", _meta("workspace")),
        Column("EAST-WEST GATEWAYS", _gateways),
        Column("EXPOSED", _exposed),
        Column("TENANT", _meta("tenant"), wide=True),
        Column("ORGANIZATION", _meta("organization"), wide=True),
    ),
    "Cluster": (
        _NAME,
        Column("NETWORK", _spec("network")),
        Column("REGION", _spec("locality", "region")),
        Column("ORGANIZATION", _meta("organization"), wide=True),
        _DISPLAY,
        _DESCRIPTION,
    ),
    # The generated kinds show what `kubectl get` shows for them (Istio's printer columns).
    "ServiceEntry": (
        _NAME,
        Column("HOSTS", _spec("hosts")),
        Column("LOCATION", _spec("location")),
        Column("RESOLUTION", _spec("resolution")),
        Column("ENDPOINTS", _endpoints, wide=True),
        Column("PORTS", _ports, wide=True),
    ),
    "WorkloadEntry": (
        _NAME,
        Column("ADDRESS", _spec("address")),
        Column("NETWORK", _spec("network"), wide=True),
        Column("LOCALITY", _spec("locality"), wide=True),
        Column("PORTS", _ports, wide=True),
    ),
    "DestinationRule": (_NAME, Column("HOST", _spec("host")), Column("FAILOVER", _failover, wide=True)),
    "Gateway": (_NAME, Column("SELECTOR", _selector), Column("HOSTS", _servers_hosts, wide=True)),
}


class Rows:
    """A table's headers and cells, added object by object: it holds the cells, not the objects.
    `prefix` columns lead (cluster, namespace), `suffix` ones close (sync); each `add` gives
    their values for that object."""

    def __init__(self, kind: str, wide: bool, prefix: Sequence[str] = (), suffix: Sequence[str] = ()) -> None:
        self._columns = [c for c in COLUMNS[kind] if wide or not c.wide]
        self.headers = [*prefix, *(c.header for c in self._columns), *suffix]
        self.cells: list[list[str]] = []

    def add(self, body: dict, prefix: Sequence[str] = (), suffix: Sequence[str] = ()) -> None:
        self.cells.append([*prefix, *(c.value(body) for c in self._columns), *suffix])


def render(headers: Sequence[str], table_rows: Sequence[Sequence[str]], stream) -> None:
    """Plain columns, as kubectl prints them, on a terminal as in pipes: a cell is never wrapped
    or cut, a long row makes a long line (the terminal, or `less -S`, decides what to do)."""
    stream.write("".join(plain_lines(headers, table_rows)))


def plain_lines(headers: Sequence[str], table_rows: Sequence[Sequence[str]]) -> Iterator[str]:
    """The table's lines, columns as wide as their widest cell, no trailing spaces."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *table_rows, strict=False)]
    for row in (headers, *table_rows):
        yield (
            "   ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip()
            + "\n"
        )

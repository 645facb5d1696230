"""The mesh as a picture (SPEC §11 `tctl graph`): clusters as boxes holding their East-West
gateways (with addresses) and exposed services, arrows origin -> consumer (ServiceEntry) and
local -> remote (failover), unready paths dashed and red. Pure: rows in, Mermaid or DOT text out;
SVG is DOT handed to Graphviz (`to_svg`, the `graph` extra)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tctl_py.mesh.model import GatewaySummary
from tctl_py.mesh.status import Role, ServiceStatus


@dataclass(frozen=True)
class Node:
    id: str
    label: tuple[str, ...]  # lines
    kind: str  # "gateway" | "service"
    problem: bool = False  # a pending gateway, an unready service


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str  # "ServiceEntry" | "failover"
    ready: bool


@dataclass
class Box:
    id: str
    cluster: str
    reachable: bool
    nodes: list[Node] = field(default_factory=list)


@dataclass
class Topology:
    boxes: list[Box]
    edges: list[Edge]


def topology(
    clusters: Sequence[tuple[str, bool]],
    gateways: Iterable[GatewaySummary],
    rows: Iterable[ServiceStatus],
    *,
    cluster: str | None = None,
) -> Topology:
    """`clusters`: (name, reachable) in order; `rows`: `mesh.status.service_status` rows (filter
    them for one service). With `cluster`, only the arrows that touch it and what they join."""
    rows = [row for row in rows if row.role is not Role.UNKNOWN]
    service_ids = {(row.cluster, row.service): f"s{i}" for i, row in enumerate(rows)}
    edges: list[Edge] = []
    for row in rows:
        here = service_ids[(row.cluster, row.service)]
        if row.role is Role.CONSUMER:
            edges += [Edge(service_ids[(c, row.service)], here, "ServiceEntry", row.ready) for c in row.first]
        elif row.role is Role.LOCAL_FAILOVER:
            edges += [Edge(here, service_ids[(c, row.service)], "failover", row.ready) for c in row.failover]
        elif row.role is Role.ORIGIN:  # the failover it lacks, to a peer that cannot take it
            peers = dict.fromkeys(b.cluster for b in row.blockers if (b.cluster, row.service) in service_ids)
            edges += [Edge(here, service_ids[(c, row.service)], "failover", False) for c in peers]
    shown_clusters = [name for name, _ in clusters]
    if cluster is not None:
        by_id = {service_ids[(r.cluster, r.service)]: r.cluster for r in rows}
        edges = [e for e in edges if cluster in (by_id[e.source], by_id[e.target])]
        ends = {by_id[i] for e in edges for i in (e.source, e.target)}
        shown_clusters = [name for name in shown_clusters if name == cluster or name in ends]
        linked = {i for e in edges for i in (e.source, e.target)}
        rows = [r for r in rows if r.cluster == cluster or service_ids[(r.cluster, r.service)] in linked]
    boxes = {name: Box(f"c{i}", name, reachable) for i, (name, reachable) in enumerate(clusters)}
    for i, gateway in enumerate(gateways):
        if gateway.cluster in boxes and (cluster is None or gateway.cluster == cluster):
            addresses = ", ".join(gateway.addresses) or "pending: no address"
            label = (f"{gateway.namespace}/{gateway.service}", addresses)
            boxes[gateway.cluster].nodes.append(Node(f"g{i}", label, "gateway", not gateway.addresses))
    for row in rows:
        label = (row.service, str(row.role) + ("" if row.ready else " (not ready)"))
        node = Node(service_ids[(row.cluster, row.service)], label, "service", not row.ready)
        boxes[row.cluster].nodes.append(node)
    return Topology([boxes[name] for name in shown_clusters], edges)


def _box_title(box: Box) -> str:
    return box.cluster if box.reachable else f"{box.cluster} (unreadable)"


def to_mermaid(topo: Topology) -> str:
    """A Mermaid flowchart (renders in GitHub/GitLab comments and Markdown)."""

    def text(value: str) -> str:  # inside "...": Mermaid's entity codes for what would end it
        return value.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")

    lines = ["flowchart LR"]
    problems = []
    for box in topo.boxes:
        lines.append(f'  subgraph {box.id}["{text(_box_title(box))}"]')
        for node in box.nodes:
            label = "<br/>".join(text(line) for line in node.label)
            shape = f'{{{{"{label}"}}}}' if node.kind == "gateway" else f'(["{label}"])'
            lines.append(f"    {node.id}{shape}")
            if node.problem:
                problems.append(node.id)
        lines.append("  end")
    unready = []
    for index, edge in enumerate(topo.edges):
        arrow = f"-- {edge.label} -->" if edge.ready else f"-. {edge.label}: not ready .->"
        lines.append(f"  {edge.source} {arrow} {edge.target}")
        if not edge.ready:
            unready.append(str(index))
    if problems:
        lines.append("  classDef problem stroke:#d00,stroke-width:2px,stroke-dasharray:4")
        lines.append(f"  class {','.join(problems)} problem")
    if unready:
        lines.append(f"  linkStyle {','.join(unready)} stroke:#d00,stroke-width:2px")
    return "\n".join(lines) + "\n"


def to_dot(topo: Topology) -> str:
    """Graphviz DOT: one `cluster_` subgraph (a box) per cluster."""

    def quoted(value: str) -> str:  # a DOT string; a line break is DOT's \n
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'

    lines = [
        "digraph mesh {",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=11];',
        '  graph [fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for box in topo.boxes:
        lines.append(f"  subgraph cluster_{box.id} {{")
        style = "rounded" if box.reachable else "rounded,dashed"
        lines.append(f"    label={quoted(_box_title(box))}; style={quoted(style)};")
        for node in box.nodes:
            shape = "hexagon" if node.kind == "gateway" else "box"
            attributes = [f"label={quoted(chr(10).join(node.label))}", f"shape={shape}"]
            look = ["rounded"] if node.kind == "service" else []
            if node.problem:
                look.append("dashed")
                attributes.append("color=red")
            if look:
                attributes.append(f"style={quoted(','.join(look))}")
            lines.append(f"    {node.id} [{', '.join(attributes)}];")
        lines.append("  }")
    for edge in topo.edges:
        attributes = [f"label={quoted(edge.label if edge.ready else edge.label + ': not ready')}"]
        if edge.label == "failover":
            attributes.append("arrowhead=empty")
        if not edge.ready:
            attributes += ["style=dashed", "color=red", "fontcolor=red"]
        lines.append(f"  {edge.source} -> {edge.target} [{', '.join(attributes)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_svg(dot: str) -> str:
    """`dot` rendered by Graphviz; a usage error saying what to install when it cannot be."""
    from tctl_py.errors import UsageError

    try:
        import graphviz
    except ImportError:
        raise UsageError(
            "-o svg needs the graphviz Python package", hint="pip install 'tctl[graph]'"
        ) from None
    try:
        return graphviz.Source(dot).pipe(format="svg", encoding="utf-8")
    except graphviz.ExecutableNotFound:
        raise UsageError(
            "-o svg needs Graphviz's dot program on PATH",
            hint="install Graphviz (apt-get install graphviz, brew install graphviz), or use -o dot",
        ) from None

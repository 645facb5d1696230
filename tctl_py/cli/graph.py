"""`tctl graph`: the topology of the exposure as Mermaid, DOT or SVG."""

from __future__ import annotations

import enum
from typing import Optional

import typer

from tctl_py.cli import completers
from tctl_py.cli.common import Suppress, open_store, out

HELP = """Draw the mesh: clusters as boxes holding their East-West gateways (with their addresses) and exposed services; arrows from origin to consumer (ServiceEntry) and from local to remote (failover); unready paths dashed and red, pending gateways and unready services outlined in red.

-o mermaid (default) renders in pull-request comments and Markdown; -o dot is Graphviz's language; -o svg needs the graphviz package (pip install 'tctl[graph]') and Graphviz's dot program. --cluster C keeps the arrows that touch C; --service NAME.NAMESPACE one service.
"""


class Output(str, enum.Enum):
    mermaid = "mermaid"
    dot = "dot"
    svg = "svg"


def command(
    output: Output = typer.Option(Output.mermaid, "-o", "--output", help="Output format."),
    cluster: Optional[str] = typer.Option(
        None, "--cluster", help="Only what touches this cluster.", autocompletion=completers.clusters
    ),
    service: Optional[str] = typer.Option(
        None, "--service", metavar="NAME.NAMESPACE", help="Only this service."
    ),
    suppress: Optional[list[str]] = Suppress,
) -> None:
    from tctl_py.cli import meshview
    from tctl_py.cli.report import FINDINGS, exit_for_unreachable, report_findings
    from tctl_py.errors import NotFound
    from tctl_py.mesh import Exposed
    from tctl_py.mesh.status import service_status
    from tctl_py.output import graph

    FINDINGS.start(suppress)
    with open_store() as store:
        config = meshview.mesh_config(store)
    fleet = meshview.load_fleet(config)
    if cluster:
        meshview.check_clusters(fleet, [cluster])
    exposed = Exposed(config, fleet.states)
    result = exposed.result()
    rows = service_status(exposed, result)
    if service:
        rows = [row for row in rows if row.service == service]
        if not rows:
            raise NotFound(f'service "{service}" is not exposed by any workspace setting')
    report_findings(result.findings)
    clusters = [(state.name, state.reachable) for state in fleet.states]
    topology = graph.topology(clusters, result.gateways, rows, cluster=cluster)
    if output is Output.mermaid:
        out(graph.to_mermaid(topology))
    else:
        dot = graph.to_dot(topology)
        out(dot if output is Output.dot else graph.to_svg(dot))
    exit_for_unreachable(fleet.states, fleet.names(), result.held_origins)

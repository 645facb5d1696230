"""`tctl render --out DIR`: the generated objects as files, for GitOps."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from tctl_py.cli.common import Suppress, open_store, out

HELP = """Write every generated object to DIR/<cluster>/<kind>/<namespace>/<name>.yaml.

Re-rendering unchanged input rewrites nothing; files of objects no longer generated are removed. DIR must be empty or a folder tctl rendered before.
"""


def command(
    out_dir: Path = typer.Option(..., "--out", "-o", help="Folder to write to."),
    suppress: Optional[list[str]] = Suppress,
) -> None:
    from tctl_py.cli import meshview
    from tctl_py.cli.generated import Desired
    from tctl_py.cli.report import FINDINGS, exit_for_unreachable, report_findings
    from tctl_py.config import kinds
    from tctl_py.output import manifests

    FINDINGS.start(suppress)
    meshview.refuse_context("render")
    with open_store() as store:
        config = meshview.mesh_config(store)
    fleet = meshview.load_fleet(config)
    desired = Desired(config, fleet, fleet.names())
    report_findings(desired.result.findings)
    files = (
        [
            (manifests.relative_path(o.cluster, _plural(kinds, o.body), o.namespace, o.name), o.body)
            for o in desired.objects(cluster)
        ]
        for cluster in sorted(set(fleet.names()))
    )
    # An unreadable cluster, or one whose gateway addresses cannot be parsed, is no evidence that
    # what derives from it is gone: keep those files.
    settled = all(s.reachable for s in fleet.states) and not desired.result.held_origins
    report = manifests.render(files, out_dir, prune=settled)
    out(
        f"{len(report.written)} written, {len(report.unchanged)} unchanged, "
        f"{len(report.removed)} removed in {out_dir}\n"
    )
    exit_for_unreachable(fleet.states, fleet.names(), desired.result.held_origins)


def _plural(kinds, body: dict) -> str:
    kind = kinds.lookup(body["apiVersion"], body["kind"])
    return kind.plural if kind else body["kind"].lower() + "s"

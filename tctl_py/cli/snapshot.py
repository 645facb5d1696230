"""`tctl snapshot --out DIR`: what the engine reads from every cluster, as a `--fleet` folder."""

from __future__ import annotations

from pathlib import Path

import typer

from tctl_py.cli.common import open_store, out

HELP = """Write a snapshot of the fleet to DIR: one folder per cluster with its Namespaces, Services and DestinationRules, as `kubectl get -o yaml` prints them.

Only the kinds tctl reads are written, never Secrets or credentials. A cluster whose name cannot be a folder name (an EKS ARN holds '/') gets an encoded folder, recorded in DIR/tctl-clusters.yaml. `tctl --fleet DIR ...` then works without cluster access, and gives the same generated objects as the live fleet.
"""


def command(out_dir: Path = typer.Option(..., "--out", "-o", help="Folder to write to.")) -> None:
    from tctl_py.cli import meshview
    from tctl_py.cli.report import exit_for_unreachable
    from tctl_py.fleet import write_snapshot

    meshview.refuse_context("snapshot")
    with open_store() as store:
        config = meshview.mesh_config(store)
    fleet = meshview.load_fleet(config)
    written = write_snapshot(fleet.states, out_dir)
    clusters = sum(state.reachable for state in fleet.states)
    out(f"{clusters} cluster(s), {len(written)} file(s) written to {out_dir}\n")
    exit_for_unreachable(fleet.states, fleet.names())

"""`tctl apply -f`: validate, then create or replace configuration in the store."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from tctl_py.cli.common import Filenames, Recursive, err, open_store, out, read_inputs
from tctl_py.errors import ExitCode, InvalidInput, UsageError

HELP = """Validate and apply configuration: create or replace each object in the store.

Documents are ordered parent-first automatically. One apply is one transaction: if any document is invalid or its parent is missing, nothing is written.

With --dry-run, prints the changes as a unified diff of the stored YAML and exits 1 when anything would change, 0 otherwise.
"""


def command(
    filenames: list[str] = Filenames,
    recursive: bool = Recursive,
    dry_run: Optional[str] = typer.Option(
        None, "--dry-run", metavar="[client|server]",
        help="Compute and show the changes, write nothing ('--dry-run' alone means client)."),
    cluster: Optional[str] = typer.Option(None, "--cluster", help="Cluster to apply install objects to."),
    all_clusters: bool = typer.Option(False, "--all-clusters", help="Apply install objects to every cluster."),
) -> None:
    from tctl_py.config import kinds, objects
    from tctl_py.output.diff import colorize, unified
    from tctl_py.store import ApplyRefused

    if dry_run not in (None, "client", "server"):
        raise UsageError(f'--dry-run must be "client" or "server", not "{dry_run}"')
    loaded, problems = read_inputs(filenames, recursive)
    if problems:
        raise InvalidInput(problems, "nothing applied: the input has problems")
    installs = [d for d in loaded.documents if d.kind == "IngressGateway"]
    if installs and not (cluster or all_clusters):
        raise UsageError(f"{installs[0].source}: IngressGateway {installs[0].name} is installed in a "
                         "cluster: name it with --cluster C or use --all-clusters")
    if installs:
        raise UsageError("installing IngressGateway objects in clusters needs the live fleet "
                         "writer, which this version of tctl does not have yet",
                         hint="apply it with kubectl for now: kubectl apply -f FILE")
    batch = objects.items(loaded.documents)
    try:
        with open_store() as store:
            changes = store.apply([item.as_store_item() for item in batch], dry_run=bool(dry_run))
    except ApplyRefused as refused:
        raise InvalidInput(objects.locate(refused, batch), "nothing applied") from None
    names = {item.fqn: objects.label(item.kind, item.document.name) for item in batch}
    suffix = " (dry run)" if dry_run else ""
    for change in changes:
        out(f"{names[change.fqn]} {change.action}{suffix}\n")
    if not dry_run:
        return
    changed = [c for c in changes if c.action != "unchanged"]
    text = "".join(unified(c.before, c.after, c.fqn) for c in changed)
    generated = _generated_changes([c.after for c in changed]) if changed else []
    for change in generated:
        kind = kinds.by_kind(change.kind)
        label = objects.label(kind, change.name) if kind else f"{change.kind.lower()}/{change.name}"
        out(f"{change.cluster} {label} {change.action}{suffix}\n")
    text += "".join(unified(c.before, c.after, c.path) for c in generated)
    if text:
        out(colorize(text) if sys.stdout.isatty() else text)
    raise typer.Exit(int(ExitCode.DIFFERENCES if changed or generated else ExitCode.OK))


def _generated_changes(applied: list[dict]) -> list:
    """How the objects generated for the fleet would change with `applied` on top of the store."""
    from tctl_py.cli import meshview
    from tctl_py.cli.generated import report_findings
    from tctl_py.reconcile.plan import diff_objects

    with open_store() as store:
        now = meshview.mesh_config(store)
        then = meshview.mesh_config(store, extra=applied)
    fleet = meshview.load_fleet(then)
    if not fleet.states:
        return []
    after = meshview.compute(then, fleet)
    report_findings(after.findings)
    return diff_objects(meshview.compute(now, fleet).objects, after.objects)

"""`tctl apply -f`: validate, store the configuration, then reconcile every cluster of the fleet."""

from __future__ import annotations

from typing import Optional

import typer

from tctl_py.cli.common import Filenames, Recursive, open_store, out, read_inputs
from tctl_py.errors import ExitCode, InvalidInput, UsageError

HELP = """Validate and apply configuration: store it, then write the Istio objects it means to every cluster of the fleet.

Documents are ordered parent-first automatically. Storing is one transaction: if any document is invalid or its parent is missing, nothing is written anywhere. Then every cluster is reconciled (server-side apply, field manager tctl): missing objects created, drifted ones updated, ones no longer generated pruned; objects tctl does not own are left alone unless --force-conflicts. --no-sync stores only. IngressGateway documents are installed in the cluster named by --cluster, or in every cluster with --all-clusters.

--dry-run (client) computes everything and writes nothing; --dry-run=server sends the writes with dryRun=All so the API servers validate them. Both print unified diffs and exit 1 when anything would change, 0 when nothing would. Exit 4 when a cluster failed, 5 on a conflict.
"""


def command(
    filenames: list[str] = Filenames,
    recursive: bool = Recursive,
    dry_run: Optional[str] = typer.Option(
        None, "--dry-run", metavar="[client|server]",
        help="Compute and show the changes, write nothing ('--dry-run' alone means client)."),
    no_sync: bool = typer.Option(False, "--no-sync", help="Store the configuration; leave the clusters."),
    force_conflicts: bool = typer.Option(False, "--force-conflicts",
                                         help="Take over objects with tctl's names that tctl does not own."),
    cluster: Optional[str] = typer.Option(None, "--cluster", help="Cluster to install IngressGateways in."),
    all_clusters: bool = typer.Option(False, "--all-clusters", help="Install IngressGateways in every cluster."),
) -> None:
    from tctl_py.cli import meshview
    from tctl_py.cli.sync import check_dry_run, reconcile_and_report
    from tctl_py.config import objects
    from tctl_py.output.diff import unified
    from tctl_py.store import ApplyRefused

    check_dry_run(dry_run)
    loaded, problems = read_inputs(filenames, recursive)
    if problems:
        raise InvalidInput(problems, "nothing applied: the input has problems")
    installs = [d for d in loaded.documents if d.kind == "IngressGateway"]
    if installs and not (cluster or all_clusters):
        raise UsageError(f"{installs[0].source}: IngressGateway {installs[0].name} is installed in a "
                         "cluster: name it with --cluster C or use --all-clusters")
    if cluster and all_clusters:
        raise UsageError("give either --cluster or --all-clusters, not both")
    batch = objects.items(loaded.documents)
    try:
        with open_store() as store:
            baseline = meshview.mesh_config(store)
            changes = store.apply([item.as_store_item() for item in batch], dry_run=bool(dry_run))
            applied = [c.after for c in changes if c.action != "unchanged"]
            config = meshview.mesh_config(store, extra=applied if dry_run else ())
    except ApplyRefused as refused:
        raise InvalidInput(objects.locate(refused, batch), "nothing applied") from None
    names = {item.fqn: objects.label(item.kind, item.document.name) for item in batch}
    suffix = " (dry run)" if dry_run else ""
    out("".join(f"{names[c.fqn]} {c.action}{suffix}\n" for c in changes))
    if dry_run:
        out("".join(unified(c.before, c.after, c.fqn) for c in changes if c.action != "unchanged"))
    stored_changed = bool(dry_run) and bool(applied)
    if no_sync and not installs:
        raise typer.Exit(int(ExitCode.DIFFERENCES if stored_changed else ExitCode.OK))
    fleet = meshview.load_fleet(config)
    codes = []
    if installs:
        targets = [cluster] if cluster else fleet.names()
        codes.append(install(fleet, [d.body for d in installs], targets, dry_run))
    if not no_sync:
        codes.append(reconcile_and_report(config, fleet, dry_run=dry_run, force_conflicts=force_conflicts,
                                          baseline=baseline))
    if stored_changed:
        codes.append(int(ExitCode.DIFFERENCES))
    raise typer.Exit(worst(codes))


def worst(codes: list[int]) -> int:
    """The exit code that matters most: a failed cluster, a conflict, then differences."""
    for code in (ExitCode.CLUSTER, ExitCode.CONFLICT, ExitCode.DIFFERENCES):
        if int(code) in codes:
            return int(code)
    return int(ExitCode.OK)


def install(fleet, bodies: list[dict], targets: list[str], dry_run: str | None) -> int:
    """Server-side apply each IngressGateway in each target cluster; report created/configured/
    unchanged per object and cluster. A snapshot fleet only reports."""
    from tctl_py.cli import meshview
    from tctl_py.cli.common import err
    from tctl_py.fleet.parallel import run_per_cluster
    from tctl_py.reconcile.plan import clean, differs

    meshview.check_clusters(fleet, targets)
    suffix = " (server dry run)" if dry_run == "server" else " (dry run)" if dry_run else ""

    def work(name: str) -> list[str]:
        if not fleet.live:
            return [f"created (snapshot fleet: not written){suffix}"] * len(bodies)
        results = []
        with fleet.client(name) as client:
            for body in bodies:
                meta = body["metadata"]
                live = client.get(body["apiVersion"], body["kind"], meta.get("namespace"), meta["name"])
                if live is not None and not differs(body, clean(live)):
                    results.append("unchanged")
                    continue
                if dry_run != "client":
                    client.apply(body, dry_run=dry_run == "server")
                results.append(("created" if live is None else "configured") + suffix)
        return results

    failed = False
    for name, result in run_per_cluster(targets, work).items():
        if isinstance(result, BaseException):
            failed = True
            err(f"error: cluster {name}: {getattr(result, 'message', result)}\n")
            continue
        out("".join(f"{name} ingressgateway.install.tetrate.io/{body['metadata']['name']} {outcome}\n"
                    for body, outcome in zip(bodies, result)))
    return int(ExitCode.CLUSTER) if failed else int(ExitCode.OK)

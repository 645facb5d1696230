"""Helpers shared by commands: reading -f inputs, opening the store, writing to the terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from tctl_py.cli import completers
from tctl_py.cli.state import OPTIONS

if TYPE_CHECKING:
    from tctl_py.config.documents import Loaded
    from tctl_py.store import ConfigStore

FILENAME_HELP = "File, folder (.yaml, .yml, .json) or '-' for stdin; repeatable."

Filenames = typer.Option(..., "-f", "--filename", metavar="PATH", help=FILENAME_HELP)
OptionalFilenames = typer.Option(None, "-f", "--filename", metavar="PATH", help=FILENAME_HELP)
Recursive = typer.Option(False, "-R", "--recursive", help="Walk folders given to -f recursively.")
Org = typer.Option(None, "--org", "--organization", help="Only objects of this organization.")
Tenant = typer.Option(None, "--tenant", help="Only objects of this tenant.")
Workspace = typer.Option(None, "--workspace", "-w", help="Only objects of this workspace.")
Verbose = typer.Option(
    False,
    "-v",
    "--verbose",
    help="Also list unchanged objects, and objects made by tctl for configuration this store "
    "does not hold (left alone).",
)
DryRun = typer.Option(
    None,
    "--dry-run",
    metavar="[client|server]",
    help="Compute and show the changes, write nothing ('--dry-run' alone means client).",
)
OneCluster = typer.Option(
    None,
    "--cluster",
    help="Only this cluster: reconcile the configuration in it alone (as sync --cluster), "
    "and install (delete: remove) IngressGateways in it.",
    autocompletion=completers.clusters,
)
# The long-running commands' outputs (sync --watch and controller).
MetricsAddr = typer.Option(
    None,
    "--metrics-addr",
    metavar="HOST:PORT",
    help="Serve Prometheus metrics at /metrics (sync: with --watch).",
)
HealthAddr = typer.Option(
    None, "--health-addr", metavar="HOST:PORT", help="Serve /healthz and /readyz (sync: with --watch)."
)
LogFormat = typer.Option(
    "text", "--log-format", metavar="text|json", help="Log lines as text or JSON (sync: with --watch)."
)
AllClusters = typer.Option(False, "--all-clusters", help="IngressGateways in every cluster.")
Quiet = typer.Option(False, "-q", "--quiet", help="Print nothing but errors; the exit code tells the rest.")
ReportOutput = typer.Option(
    None,
    "-o",
    "--output",
    metavar="[json|yaml]",
    help="For machines: one document listing every step (cluster, kind, namespace, name, "
    "action, outcome, reason) instead of lines and diffs.",
)

Suppress = typer.Option(
    None,
    "--suppress",
    metavar="CODE[=SUBJECT]",
    help="Hide findings of this code (TCTL0201 or gateway-pending), only about SUBJECT when given "
    "(e.g. bookinfo/details, a cluster name; * wildcards); repeatable. See docs/findings.md.",
)


def read_inputs(paths: list[str], recursive: bool) -> tuple[Loaded, list]:
    """Documents of every input plus all their problems (reading, schema, semantics)."""
    from tctl_py.config.documents import load
    from tctl_py.config.validate import validate

    loaded = load(paths, recursive)
    return loaded, validate(loaded)


def open_store() -> ConfigStore:
    """The store of --store / TCTL_STORE: a SQLite file or `kube://CONTEXT/NAMESPACE`."""
    from tctl_py.store import default_path, open_store

    return open_store(
        OPTIONS.store or str(default_path()),
        kubeconfig=OPTIONS.kubeconfig,
        request_timeout=OPTIONS.request_timeout,
    )


@contextmanager
def reconcile_lock(store: ConfigStore, doing: str, dry_run: str | None = None) -> Iterator[None]:
    """The store's reconcile lock for a command that writes (none for a client dry run), with a
    message while another tctl command holds it."""
    if dry_run == "client":
        yield
        return

    def waiting(holder: str) -> None:
        err(f"waiting for another tctl command to finish with the store {store.location} ({holder})...\n")

    with store.reconcile_lock(doing, on_wait=waiting):
        yield


def out(text: str) -> None:
    sys.stdout.write(text)


def err(text: str) -> None:
    sys.stderr.write(text)


def organizations_of(batch) -> list[str]:
    """The organizations an input names (`apply --prune` takes it as their whole configuration)."""
    return sorted({item.fqn.split("/")[1] for item in batch})


def store_batch(store, batch, organizations: Sequence[str], *, dry_run: bool):
    """Apply `batch` to the store (with `organizations` replaced whole: `--prune`); return the
    configuration before, the configuration after (as it would be, for a dry run) and the
    store's changes. A refused batch is invalid input, with each document's position."""
    from tctl_py.cli import meshview
    from tctl_py.config import objects
    from tctl_py.errors import InvalidInput
    from tctl_py.store import ApplyRefused

    baseline = meshview.mesh_config(store)
    try:
        changes = store.apply(
            [item.as_store_item() for item in batch],
            dry_run=dry_run,
            replace_under=[f"organizations/{name}" for name in organizations],
        )
    except ApplyRefused as refused:
        raise InvalidInput(objects.locate(refused, batch), "nothing applied") from None
    if not dry_run:
        return baseline, meshview.mesh_config(store), changes
    applied = [c.after for c in changes if c.action in ("created", "configured")]
    removed = [c.fqn for c in changes if c.action == "deleted"]
    return baseline, meshview.mesh_config(store, extra=applied, without=removed), changes

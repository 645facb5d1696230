"""`tctl store init` and `tctl store export`: make a store ready, and move configuration
between stores (`tctl store export | tctl --store kube://ctx/ns apply -f -`)."""

from __future__ import annotations

import typer

from tctl_py.cli.common import open_store, out

HELP = """Set up the configuration store, or print all of it.

The store is --store (or TCTL_STORE): a SQLite file, or kube://CONTEXT/NAMESPACE for custom resources in a namespace of a cluster, shared by a team and its controller.
"""

INIT_HELP = """Make the store ready: for kube://CONTEXT/NAMESPACE, create the namespace if missing and install (server-side apply) one CustomResourceDefinition per configuration kind; for a SQLite file, create it. Running it again changes nothing."""

EXPORT_HELP = """Print the whole store as one YAML stream, parents first, that `tctl apply -f -` takes back on any store: tctl store export | tctl --store kube://CONTEXT/NAMESPACE apply --no-sync -f -"""

app = typer.Typer(help=HELP, no_args_is_help=True)


@app.command("init", help=INIT_HELP)
def init() -> None:
    with open_store() as store:
        for what, action in store.init():
            out(f"{what} {action}\n")


@app.command("export", help=EXPORT_HELP)
def export() -> None:
    from tctl_py.config.kinds import stored_kinds
    from tctl_py.output.render import to_yaml

    with open_store() as store:
        found = [stored for kind in stored_kinds() for stored in store.list(kind=kind.kind)]
    for stored in found:
        out("---\n" + to_yaml(stored.body))

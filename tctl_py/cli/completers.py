"""What the shell offers after TAB: kinds, clusters, namespaces and object names.

Completion runs tctl on every TAB, so these read only local files (the store, a snapshot's
folders, the kubeconfig) and never import `kubernetes`; anything that cannot be read offers
nothing rather than failing. Global options count wherever they are written (`shells` moves
them before the command, as `main` does) or through their environment variables.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from typer._click.core import Context


def kinds(incomplete: str) -> list[str]:
    """Every name of a kind `get` lists, and `all`; after `se,` the next kind of a list."""
    from tctl_py.config.kinds import KINDS

    done, _, _ = incomplete.rpartition(",")
    lead = f"{done}," if done else ""
    listed = [kind for kind in KINDS.values() if kind.stored or kind.generated]
    names = ["all", *(name for kind in listed for name in kind.names)]
    return [lead + name for name in dict.fromkeys(names)]


def clusters(ctx: Context) -> list[str]:
    """The fleet's clusters: a snapshot's, else the kubeconfig's contexts, plus the Cluster
    objects of the store."""
    names: list[str] = []
    with _quietly():
        names += [state.name for state in _snapshot(ctx)]
    if not _option(ctx, "fleet"):
        with _quietly():
            from tctl_py.fleet.kubeconfig import load_kubeconfig

            names += [ref.name for ref in load_kubeconfig(_option(ctx, "kubeconfig")).clusters]
    with _quietly(), _store(ctx) as store:
        names += [stored.body["metadata"]["name"] for stored in store.list(kind="Cluster")]
    return sorted(set(names))


def namespaces(ctx: Context) -> list[str]:
    """A snapshot's namespaces, and those the store's workspaces select by name."""
    names: list[str] = []
    with _quietly():
        names += [ns["metadata"]["name"] for state in _snapshot(ctx) for ns in state.namespaces]
    with _quietly(), _store(ctx) as store:
        for stored in store.list(kind="Workspace"):
            selector = (stored.body.get("spec") or {}).get("namespaceSelector") or {}
            names += [entry.rpartition("/")[2] for entry in selector.get("names") or []]
    return sorted({name for name in names if name and "*" not in name})


def names(ctx: Context) -> list[str]:
    """Names of the objects of the kind already typed: from the store for configuration, from
    the engine on a snapshot fleet for generated kinds (a live fleet would need the network)."""
    from tctl_py.config import kinds as registry

    found: list[str] = []
    with _quietly():
        wanted = [registry.resolve(text) for text in str(ctx.params.get("kind") or "").split(",")]
        stored = [kind for kind in wanted if kind.stored]
        with _store(ctx) as store:
            found += [s.body["metadata"]["name"] for kind in stored for s in store.list(kind=kind.kind)]
        if any(kind.generated for kind in wanted) and _option(ctx, "fleet"):
            found += _generated_names(ctx, {kind.kind for kind in wanted if kind.generated})
    return sorted(set(found))


def _generated_names(ctx: Context, wanted: set[str]) -> list[str]:
    from tctl_py.cli import meshview
    from tctl_py.mesh import compute

    with _store(ctx) as store:
        config = meshview.mesh_config(store)
    result = compute(config, _snapshot(ctx), kinds=wanted)
    return [o.name for o in result.objects]


def _option(ctx: Context, name: str) -> str | None:
    """A global option as given before the command, or by its environment variable."""
    import os

    value = ctx.find_root().params.get(name)
    environment = {"fleet": "TCTL_FLEET", "store": "TCTL_STORE"}
    return value or (os.environ.get(environment[name]) if name in environment else None)


def _snapshot(ctx: Context) -> list:
    from tctl_py.fleet.snapshot import read_snapshot

    fleet = _option(ctx, "fleet")
    return read_snapshot(fleet) if fleet else []


@contextlib.contextmanager
def _store(ctx: Context) -> Iterator:
    """The store, only if it exists (completion never creates it)."""
    from pathlib import Path

    from tctl_py.store import default_path, open_store

    where = _option(ctx, "store") or str(default_path())
    if "://" not in where and not Path(where).is_file():
        raise FileNotFoundError(where)
    with open_store(where, kubeconfig=_option(ctx, "kubeconfig")) as store:
        yield store


@contextlib.contextmanager
def _quietly() -> Iterator[None]:
    """Whatever cannot be read adds nothing to the completions."""
    with contextlib.suppress(Exception):
        yield

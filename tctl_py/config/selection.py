"""Finding stored objects by kind, name and hierarchy filters, as `get` and `delete` do."""

from __future__ import annotations

from tctl_py.config.kinds import Kind


def select(
    store,
    kind: Kind,
    *,
    name: str | None = None,
    org: str | None = None,
    tenant: str | None = None,
    workspace: str | None = None,
) -> list:
    """Stored objects of `kind` matching every filter given (None matches anything)."""
    wanted = {"organization": org, "tenant": tenant, "workspace": workspace}
    found = []
    for stored in store.list(kind=kind.kind):
        metadata = stored.body.get("metadata", {})
        if name is not None and metadata.get("name") != name:
            continue
        if any(
            value is not None and field in kind.scope and metadata.get(field) != value
            for field, value in wanted.items()
        ):
            continue
        if kind.kind == "Organization" and org is not None and metadata.get("name") != org:
            continue
        found.append(stored)
    return found

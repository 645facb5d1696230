"""Validated documents as store items, and store refusals mapped back to input positions."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

from tctl_py.config import kinds
from tctl_py.config.documents import Document
from tctl_py.config.kinds import Kind
from tctl_py.errors import Problem

# Fields Tetrate's tctl adds when it prints objects; dropped so `get -o yaml | apply -f -` is a no-op.
_SERVER_FIELDS = (("metadata", "resourceVersion"), ("spec", "fqn"), ("spec", "etag"))


@dataclass(frozen=True)
class Item:
    document: Document
    kind: Kind
    fqn: str
    parent: str | None
    body: dict

    def as_store_item(self) -> tuple[str, str, str | None, dict]:
        return (self.fqn, self.kind.kind, self.parent, self.body)


def items(documents: Sequence[Document]) -> list[Item]:
    """Store items of the configuration documents (valid ones: validate first)."""
    found = []
    for document in documents:
        kind = kinds.lookup(document.api_version, document.kind)
        if kind is None or not kind.stored:
            continue
        metadata = document.metadata
        found.append(
            Item(
                document,
                kind,
                kind.fqn(metadata),
                kind.parent_fqn(metadata),
                without_server_fields(document.mapping),
            )
        )
    return found


def without_server_fields(body: dict) -> dict:
    clean = copy.deepcopy(body)
    for section, name in _SERVER_FIELDS:
        part = clean.get(section)
        if isinstance(part, dict):
            part.pop(name, None)
    return clean


def locate(refused, batch: Sequence[Item]) -> list[Problem]:
    """Problems for what the store refused (an ApplyRefused), on the field that explains it:
    the parent's name for a missing parent, the object's own name otherwise."""
    by_fqn = {item.fqn: item for item in batch}
    problems = []
    for fqn, message in refused.problems:
        item = by_fqn[fqn]
        orphan = fqn in refused.orphans and bool(item.kind.scope)
        field = item.kind.scope[-1] if orphan else "name"
        hint = "apply the parent first, or include it in the same apply" if orphan else ""
        problems.append(
            Problem(
                item.document.position(["metadata", field]),
                message,
                kind=item.kind.kind,
                name=item.document.name,
                path=f"$.metadata.{field}",
                hint=hint,
            )
        )
    return problems


def label(kind: Kind, name: str) -> str:
    """How kubectl names an object in its output: `workspace/bookinfo-ws` for configuration,
    `serviceentry.networking.istio.io/details.bookinfo` for the Istio objects tctl generates."""
    if kind.generated:
        return f"{kind.singular}.{kind.group}/{name}"
    return f"{kind.singular}/{name}"


def change_label(change) -> str:
    """`label` of a store Change (created, configured, unchanged or deleted)."""
    body = change.after if change.after is not None else change.before
    return label(kinds.KINDS[change.kind], body["metadata"]["name"])

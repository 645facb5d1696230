"""Validation of whole inputs: envelope, schema, semantics, and checks across documents."""

from __future__ import annotations

from collections.abc import Sequence

from tctl_py.config import kinds, schemas, semantic
from tctl_py.config.documents import Document, Loaded
from tctl_py.config.kinds import Kind
from tctl_py.errors import Position, Problem


def kind_of(document: Document) -> tuple[Kind | None, Problem | None]:
    """The registered kind of a document, or the problem that prevents knowing it."""
    body = document.body
    if not isinstance(body, dict):
        return None, Problem(
            document.position(), "a document must be a mapping with apiVersion, kind, metadata and spec"
        )
    for field_name in ("apiVersion", "kind"):
        if field_name not in body:
            return None, Problem(
                document.position(),
                f'missing required field "{field_name}"',
                path=f"$.{field_name}",
                name=document.name,
            )
        if not isinstance(body[field_name], str):
            return None, Problem(
                document.position([field_name]),
                f"{field_name} must be a string",
                path=f"$.{field_name}",
                name=document.name,
            )
    kind = kinds.lookup(document.api_version, document.kind)
    if kind is not None and kind.schema:
        return kind, None
    if kind is not None:  # a kind tctl generates, not one it reads
        return None, Problem(
            document.position(["kind"]),
            f"tctl generates {kind.kind} objects; it does not take them as input",
            kind=document.kind,
            name=document.name,
            path="$.kind",
            hint="apply generated objects with kubectl",
        )
    same_kind = kinds.by_kind(document.kind)
    if same_kind is not None and same_kind.schema:
        return None, Problem(
            document.position(["apiVersion"]),
            f'{document.kind} belongs to apiVersion "{same_kind.api_version}", not "{document.api_version}"',
            kind=document.kind,
            name=document.name,
            path="$.apiVersion",
        )
    import difflib

    readable = [k for k in kinds.KINDS.values() if k.schema]
    close = difflib.get_close_matches(document.kind, [k.kind for k in readable], n=1, cutoff=0.75)
    return None, Problem(
        document.position(["kind"]),
        f'unknown kind "{document.kind}" (apiVersion "{document.api_version}")',
        kind=document.kind,
        name=document.name,
        path="$.kind",
        hint=f'did you mean "{close[0]}"?'
        if close
        else "tctl reads " + ", ".join(f"{k.api_version} {k.kind}" for k in readable),
    )


def validate(loaded: Loaded) -> list[Problem]:
    """Every problem of every document (plus those met while reading), in input order."""
    found = list(loaded.problems)
    documents = loaded.documents
    typed: list[tuple[Document, Kind]] = []
    for document in documents:
        kind, problem = kind_of(document)
        if kind is None:
            found += [problem] if problem is not None else []
            continue
        explained = semantic.check(document, kind)
        # Where both flag the same value, the semantic message is the more precise one.
        covered = {(p.position, p.path) for p in explained}
        found += [p for p in schemas.check(document, kind) if (p.position, p.path) not in covered]
        found += explained
        typed.append((document, kind))
    found += _across_documents(typed)
    order = {name: index for index, name in enumerate(loaded.files)}
    return sorted(
        found, key=lambda p: (order.get(p.position.file, len(order)), p.position.line, p.position.column)
    )


def _across_documents(typed: Sequence[tuple[Document, Kind]]) -> list[Problem]:
    """The same object twice, and a second WorkspaceSetting for one workspace, within the input."""
    problems: list[Problem] = []
    seen: dict[str, Document] = {}
    settings: dict[str, Document] = {}
    for document, kind in typed:
        if not kind.stored:
            continue
        fqn = kind.fqn(document.metadata)
        if fqn in seen:
            problems.append(_repeat(document, f"{fqn} is defined twice in the input", seen[fqn]))
            continue
        seen[fqn] = document
        if kind.kind == "WorkspaceSetting":
            workspace = kind.parent_fqn(document.metadata) or ""
            if workspace in settings:
                problems.append(
                    _repeat(
                        document,
                        f'workspace {workspace} already has a WorkspaceSetting "{settings[workspace].name}"',
                        settings[workspace],
                        hint="a workspace has exactly one WorkspaceSetting; merge them",
                    )
                )
            else:
                settings[workspace] = document
    return problems


def _repeat(document: Document, message: str, first: Document, hint: str = "") -> Problem:
    where = Position(first.source, first.line, first.column)
    return Problem(
        document.position(["metadata", "name"]),
        message,
        kind=document.kind,
        name=document.name,
        path="$.metadata.name",
        hint=hint or f"first defined at {where}",
    )

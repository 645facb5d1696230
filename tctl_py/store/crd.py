"""How configuration looks on Kubernetes: one CustomResourceDefinition per stored kind, object
names derived from FQNs, and the conversion between a stored body and its custom resource.
Pure data in, data out (no `kubernetes`).

A custom resource keeps the body's `spec` as its own `spec`, so `kubectl get -o yaml`, `kubectl
edit` and `kubectl apply` work on what matters; the rest of the body (apiVersion, kind, the TSB
metadata, in the user's key order) is the annotation `tctl.tetrate.io/body`. The hierarchy is in
labels and annotations (`tctl.tetrate.io/organization`, `.../tenant`, `.../workspace`,
`.../name`) and the FQN in `tctl.tetrate.io/fqn`, so a custom resource written by hand with only
those labels is read as well.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator

from tctl_py.config.kinds import SCOPE_COLLECTIONS, TSB_API, Kind, stored_kinds
from tctl_py.config.schemas import load_schema

GROUP = "tctl.tetrate.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
PREFIX = f"{GROUP}/"
FQN = PREFIX + "fqn"
BODY = PREFIX + "body"
NAME = PREFIX + "name"
REVISION = PREFIX + "revision"
UPDATED = PREFIX + "updated"
MANAGED_BY = {"app.kubernetes.io/managed-by": "tctl"}
MAX_NAME = 253  # a DNS-1123 subdomain

_BY_COLLECTION = {kind.collection: kind for kind in stored_kinds()}
# JSON-schema keywords a structural schema keeps as they are
_KEPT = (
    "description",
    "type",
    "format",
    "enum",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "required",
)
_PRESERVE = {"x-kubernetes-preserve-unknown-fields": True}


# -- names ------------------------------------------------------------------------------------


def object_name(fqn: str) -> str:
    """The custom resource's name: the FQN's names joined by dots
    (`tse.tse.bookinfo-ws.bookinfo-ws-settings`), a DNS-1123 subdomain since every name is a
    DNS-1123 label. Past 253 characters: a readable start and the FQN's SHA-256, without dots
    and longer than 63 characters, so it never equals a joined name (those of nested objects
    have dots, an organization's is one label of at most 63)."""
    names = fqn.split("/")[1::2]
    joined = ".".join(names)
    if len(joined) <= MAX_NAME:
        return joined
    digest = hashlib.sha256(fqn.encode()).hexdigest()
    start = "-".join(names)[: MAX_NAME - len(digest) - 1].strip("-")
    return f"{start}-{digest}"


def kind_of_fqn(fqn: str) -> Kind | None:
    parts = fqn.split("/")
    if len(parts) < 2 or len(parts) % 2:
        return None
    kind = _BY_COLLECTION.get(parts[-2])
    return kind if kind is not None and kind.fqn(_scope_of(fqn)) == fqn else None


def _scope_of(fqn: str) -> dict:
    """`organizations/o/tenants/t` -> {"organization": "o", "name": "t"}."""
    parts = fqn.split("/")
    found = {
        field: parts[parts.index(coll) + 1] for field, coll in SCOPE_COLLECTIONS.items() if coll in parts[:-2]
    }
    return {**found, "name": parts[-1]}


def hierarchy(kind: Kind, fqn: str) -> dict[str, str]:
    """The labels naming where an object sits: its ancestors, itself at its own level
    (a workspace's `tctl.tetrate.io/workspace` is its name) and its name."""
    scope = _scope_of(fqn)
    found = {PREFIX + field: scope[field] for field in kind.scope}
    own = next((field for field, coll in SCOPE_COLLECTIONS.items() if coll == kind.collection), None)
    if own is not None:
        found[PREFIX + own] = scope["name"]
    found[NAME] = scope["name"]
    return found


# -- custom resources ---------------------------------------------------------------------------


def to_resource(fqn: str, kind: Kind, body: dict, namespace: str, revision: int, updated: str) -> dict:
    """The custom resource that keeps `body` (a stored configuration object) at `fqn`."""
    rest = {key: (None if key == "spec" else copy.deepcopy(value)) for key, value in body.items()}
    labels = {**MANAGED_BY, **hierarchy(kind, fqn)}
    annotations = {
        **hierarchy(kind, fqn),
        FQN: fqn,
        BODY: json.dumps(rest, separators=(",", ":"), ensure_ascii=False),
        REVISION: str(revision),
        UPDATED: updated,
    }
    resource = {
        "apiVersion": API_VERSION,
        "kind": kind.kind,
        "metadata": {
            "name": object_name(fqn),
            "namespace": namespace,
            "labels": labels,
            "annotations": annotations,
        },
    }
    if "spec" in body:
        resource["spec"] = copy.deepcopy(body["spec"])
    return resource


def from_resource(kind: Kind, resource: dict) -> tuple[str, dict, int, str, str] | None:
    """(fqn, body, revision, created, updated) of a custom resource; None when it does not say
    where it belongs in the hierarchy."""
    meta = resource.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    labels = meta.get("labels") or {}
    try:
        rest = json.loads(annotations.get(BODY) or "null")
    except ValueError:
        rest = None
    if isinstance(rest, dict):
        body = rest
        if "spec" in body or "spec" in resource:
            body["spec"] = copy.deepcopy(resource.get("spec") or {})
    else:  # written by hand (kubectl): the TSB object from the labels and the spec
        metadata = {"name": labels.get(NAME) or annotations.get(NAME) or meta.get("name", "")}
        for field in kind.scope:
            value = labels.get(PREFIX + field) or annotations.get(PREFIX + field)
            if not value:
                return None
            metadata[field] = value
        body = {"apiVersion": TSB_API, "kind": kind.kind, "metadata": metadata}
        body["spec"] = copy.deepcopy(resource.get("spec") or {})
    fqn = annotations.get(FQN) or kind.fqn(body.get("metadata") or {})
    try:
        revision = int(annotations.get(REVISION) or meta.get("generation") or 1)
    except ValueError:
        revision = 1
    created = str(meta.get("creationTimestamp") or "")
    return fqn, body, revision, created, str(annotations.get(UPDATED) or created)


# -- CustomResourceDefinitions --------------------------------------------------------------------


def definitions() -> Iterator[dict]:
    """One CustomResourceDefinition per stored kind, parents first."""
    for kind in stored_kinds():
        yield definition(kind)


def definition(kind: Kind) -> dict:
    schema = load_schema(kind.schema)
    spec = schema.get("properties", {}).get("spec")
    properties: dict = {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
    }
    if spec is not None:
        properties["spec"] = structural(spec, schema.get("$defs", {}))
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{kind.plural}.{GROUP}", "labels": dict(MANAGED_BY)},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "plural": kind.plural,
                "singular": kind.singular,
                "kind": kind.kind,
                "listKind": f"{kind.kind}List",
                "shortNames": [n for n in kind.short_names if n != kind.singular],
                "categories": ["tctl"],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "description": schema.get("description", kind.kind),
                            "type": "object",
                            "properties": properties,
                        }
                    },
                    "additionalPrinterColumns": _columns(kind),
                }
            ],
        },
    }


def _columns(kind: Kind) -> list[dict]:
    levels = [*kind.scope]
    levels += [field for field, coll in SCOPE_COLLECTIONS.items() if coll == kind.collection]
    escaped = PREFIX.replace(".", "\\.")
    columns = [
        {"name": field.capitalize(), "type": "string", "jsonPath": f".metadata.labels.{escaped}{field}"}
        for field in levels
    ]
    return [*columns, {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]


def structural(node: dict, defs: dict, seen: tuple[str, ...] = ()) -> dict:
    """A JSON schema (draft 2020-12, as in `schemas/`) as a structural OpenAPI v3 schema:
    `$ref`s inlined, `const` as a one-value `enum`, `additionalProperties: false` dropped (the
    API server prunes unknown fields instead), titles and examples dropped. What cannot be
    said structurally (a recursive `$ref`, a list of types, `oneOf`/`anyOf`/`allOf`/`not`, a
    node without a type) keeps its value as given: `x-kubernetes-preserve-unknown-fields`."""
    ref = node.get("$ref")
    if ref is not None:
        name = ref.rpartition("/")[2]
        if not ref.startswith("#/$defs/") or name in seen or name not in defs:
            return dict(_PRESERVE)
        merged = {**defs[name], **{k: v for k, v in node.items() if k != "$ref"}}
        return structural(merged, defs, (*seen, name))
    if any(k in node for k in ("oneOf", "anyOf", "allOf", "not", "if")) or not isinstance(
        node.get("type"), str
    ):
        out = {k: node[k] for k in ("description",) if k in node}
        return {**out, **_PRESERVE}
    out = {k: copy.deepcopy(node[k]) for k in _KEPT if k in node}
    if "const" in node:
        out["enum"] = [node["const"]]
    if node["type"] == "object":
        if "properties" in node:
            out["properties"] = {k: structural(v, defs, seen) for k, v in node["properties"].items()}
        elif isinstance(node.get("additionalProperties"), dict):
            out["additionalProperties"] = structural(node["additionalProperties"], defs, seen)
        else:
            out.update(_PRESERVE)
    elif node["type"] == "array":
        out["items"] = structural(node.get("items") or {}, defs, seen)
    return out

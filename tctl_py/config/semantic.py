"""Checks a JSON schema cannot express: selector grammar, label syntax, one setting per workspace."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from tctl_py.config.documents import Document
from tctl_py.config.kinds import Kind
from tctl_py.config.schemas import json_path
from tctl_py.errors import Problem, shorten
from tctl_py.kube import (
    EXTERNAL_ADDRESSES_ANNOTATION,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_label_name,
    is_label_value,
)


def label_key_error(key: str) -> str:
    """Why `key` is not a valid Kubernetes label key, or "" when it is."""
    prefix, slash, name = key.rpartition("/")
    if slash and not is_dns1123_subdomain(prefix):
        return f'label key "{shorten(key)}": the prefix must be a DNS subdomain (e.g. "example.com/")'
    if not is_label_name(name):
        return (
            f'label key "{shorten(key)}": the name must be 1-63 characters of letters, digits, "-", "_" '
            f'or ".", starting and ending with a letter or digit'
        )
    return ""


def label_value_error(value: object) -> str:
    if not isinstance(value, str):
        return ""  # the schema reports the type
    if not is_label_value(value):
        return (
            f'label value "{shorten(value)}": must be empty or 1-63 characters of letters, digits, '
            f'"-", "_" or ".", starting and ending with a letter or digit'
        )
    return ""


def selector_error(entry: str) -> str:
    """Why a namespaceSelector entry is not `<cluster>/<namespace>`, or "" when it is valid (the
    engine's parser, imported only here, as for external addresses)."""
    from tctl_py.mesh.parsed import parse_namespace_selector

    return parse_namespace_selector(entry)[1]


def check(document: Document, kind: Kind) -> list[Problem]:
    """Semantic problems of one schema-checked document."""
    body = document.mapping
    problems = [_at(document, path, message, key=key) for path, message, key in _label_problems(body)]
    spec = body.get("spec")
    if not isinstance(spec, dict):
        spec = {}
    if kind.kind == "Workspace":
        names = _get(spec, "namespaceSelector", "names")
        for index, entry in enumerate(names if isinstance(names, list) else []):
            message = selector_error(entry) if isinstance(entry, str) else ""
            if message:
                problems.append(
                    _at(
                        document,
                        ["spec", "namespaceSelector", "names", index],
                        message,
                        hint="see `tctl validate --help` for the selector grammar",
                    )
                )
    if kind.kind == "WorkspaceSetting":
        gateways = spec.get("defaultEastWestGatewaySettings")
        for index, gateway in enumerate(gateways if isinstance(gateways, list) else []):
            namespace = _get(gateway, "workloadSelector", "namespace")
            if isinstance(namespace, str) and not is_dns1123_label(namespace):
                problems.append(
                    _at(
                        document,
                        ["spec", "defaultEastWestGatewaySettings", index, "workloadSelector", "namespace"],
                        f'"{shorten(namespace)}" is not a valid namespace name',
                    )
                )
    if kind.kind == "IngressGateway":
        annotations = _get(spec, "kubeSpec", "service", "annotations")
        addresses = annotations.get(EXTERNAL_ADDRESSES_ANNOTATION) if isinstance(annotations, dict) else None
        if isinstance(addresses, str) and (message := external_addresses_error(addresses)):
            problems.append(
                _at(
                    document,
                    ["spec", "kubeSpec", "service", "annotations", EXTERNAL_ADDRESSES_ANNOTATION],
                    message,
                )
            )
    return problems


def external_addresses_error(value: str) -> str:
    """Why `value` is not comma-separated IPs or one DNS name, or "" (the engine's parser,
    imported only here: `validate` does not load the engine otherwise)."""
    from tctl_py.mesh.addresses import parse_annotation

    return parse_annotation(value)[1]


# Where label maps live in the kinds tctl reads; "*" walks every item of a list.
_LABEL_MAPS: tuple[tuple[str | int, ...], ...] = (
    ("metadata", "labels"),
    ("spec", "defaultEastWestGatewaySettings", "*", "workloadSelector", "labels"),
    ("spec", "defaultEastWestGatewaySettings", "*", "exposedServices", "*", "serviceLabels"),
    ("spec", "kubeSpec", "service", "labels"),
    ("spec", "kubeSpec", "deployment", "labels"),
)


def _label_problems(body: dict) -> Iterator[tuple[list, str, bool]]:
    """(path, message, whether the key rather than the value is wrong) of each bad label."""
    for pattern in _LABEL_MAPS:
        for path, labels in _walk(body, pattern, []):
            if not isinstance(labels, dict):
                continue
            for key, value in labels.items():
                if message := label_key_error(key):
                    yield [*path, key], message, True
                elif message := label_value_error(value):
                    yield [*path, key], message, False


def _walk(value: object, pattern: Sequence, path: list) -> Iterator[tuple[list, object]]:
    if not pattern:
        yield path, value
        return
    step, rest = pattern[0], pattern[1:]
    if step == "*" and isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, rest, [*path, index])
    elif isinstance(value, dict) and step in value:
        yield from _walk(value[step], rest, [*path, step])


def _get(value: object, *keys: str) -> object:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _at(document: Document, path: list, message: str, hint: str = "", key: bool = False) -> Problem:
    return Problem(
        document.position(path, key=key),
        message,
        kind=document.kind,
        name=document.name,
        path=json_path(path),
        hint=hint,
    )

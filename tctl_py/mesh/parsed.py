"""The stored configuration, reduced to what exposure needs (Workspace, WorkspaceSetting, Cluster).

Bodies arrive as the user wrote them and are normally schema-valid already, but the engine must
never crash on a malformed one: anything missing or of the wrong type reads as absent. Results
are sorted by FQN so that the order of the configuration lists never shows in the output.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from tctl_py.errors import shorten

from . import findings as F
from .findings import Findings
from .model import MeshConfig
from .names import (
    RESERVED_ANNOTATIONS,
    RESERVED_LABELS,
    SYSTEM_NAMESPACES,
    is_dns1123_label,
    is_label_value,
    is_qualified_name,
)

Pairs = tuple[tuple[str, str], ...]


def as_map(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list:
    return value if isinstance(value, list) else []


def as_str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def pairs(value: object) -> Pairs:
    """A string map as sorted pairs; non-string values are stringified (so they rarely match)."""
    return tuple(sorted((str(k), _text(v)) for k, v in as_map(value).items()))


def contains(labels: dict, required: Pairs) -> bool:
    """Every pair of `required` is in `labels` (the AND of one selector)."""
    return all(labels.get(key) == value for key, value in required)


@dataclass(frozen=True)
class NamespacePattern:
    """One `namespaceSelector.names` entry `C/N` (SPEC §4 rule 1).

    `C` is `*` or an exact cluster name; `N` is `*`, an exact namespace or a prefix `p*`.
    A `*` elsewhere matches nothing. Prefixes are accepted for namespaces only, as TSB documents.
    `*` and prefixes leave out the system namespaces (`names.SYSTEM_NAMESPACES`): only an exact
    `N` covers one.
    """

    cluster: str
    namespace: str

    def specificity(self, cluster: str, namespace: str) -> tuple[int, int, int] | None:
        """None when the pattern does not match, else how specific the match is (higher wins):
        exact namespace > longer prefix > shorter prefix > `*`, then exact cluster > `*`."""
        if self.cluster != "*" and self.cluster != cluster:
            return None
        cluster_rank = 0 if self.cluster == "*" else 1
        pattern = self.namespace
        if pattern == namespace:
            return (2, 0, cluster_rank)
        if namespace in SYSTEM_NAMESPACES:
            return None
        if pattern == "*":
            return (0, 0, cluster_rank)
        if pattern.endswith("*"):
            prefix = pattern[:-1]
            if "*" in prefix or not namespace.startswith(prefix):
                return None
            return (1, len(prefix), cluster_rank)
        return None


_NAMESPACE_PREFIX = re.compile(r"^[a-z0-9][-a-z0-9]*$")


def parse_namespace_selector(entry: str) -> tuple[NamespacePattern | None, str]:
    """A `namespaceSelector.names` entry as a pattern, or (None, why it is not one): the one
    grammar that `validate` reports and the engine reads."""
    cluster, slash, namespace = entry.partition("/")
    if not slash or "/" in namespace:
        return None, f'"{shorten(entry)}" must be <cluster>/<namespace>, e.g. "*/bookinfo" or "cluster-1/ns*"'
    if not cluster or ("*" in cluster and cluster != "*") or any(c.isspace() for c in cluster):
        return None, f'"{shorten(entry)}": the cluster part must be "*" or a cluster name'
    if namespace.endswith("*") and namespace != "*":
        prefix = namespace[:-1]
        if not (_NAMESPACE_PREFIX.match(prefix) and len(prefix) < 63):
            return None, (
                f'"{shorten(entry)}": a namespace prefix must be the start of a namespace name, then "*"'
            )
    elif namespace != "*" and not is_dns1123_label(namespace):
        return None, (
            f'"{shorten(entry)}": "{shorten(namespace)}" is not a valid namespace name, "*" or a prefix "ns*"'
        )
    return NamespacePattern(cluster, namespace), ""


@dataclass(frozen=True)
class Workspace:
    organization: str
    tenant: str
    name: str
    patterns: tuple[NamespacePattern, ...]
    labels: Pairs = ()
    annotations: Pairs = ()

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.organization, self.tenant, self.name)

    @property
    def fqn(self) -> str:
        return f"organizations/{self.organization}/tenants/{self.tenant}/workspaces/{self.name}"

    def specificity(self, cluster: str, namespace: str) -> tuple[int, int, int] | None:
        best = None
        for pattern in self.patterns:
            rank = pattern.specificity(cluster, namespace)
            if rank is not None and (best is None or rank > best):
                best = rank
        return best


@dataclass(frozen=True)
class GatewayEntry:
    """One `defaultEastWestGatewaySettings[]` entry G."""

    index: int
    namespace: str
    labels: Pairs
    exposed: tuple[Pairs, ...] | None  # None: no/empty exposedServices = every Service
    meta_labels: Pairs = ()
    meta_annotations: Pairs = ()

    def exposes(self, service_labels: dict) -> bool:
        return self.exposed is None or any(contains(service_labels, one) for one in self.exposed)


@dataclass(frozen=True)
class Setting:
    organization: str
    tenant: str
    workspace: str
    name: str
    gateways: tuple[GatewayEntry, ...]
    labels: Pairs = ()
    annotations: Pairs = ()

    @property
    def workspace_key(self) -> tuple[str, str, str]:
        return (self.organization, self.tenant, self.workspace)

    @property
    def fqn(self) -> str:
        return (
            f"organizations/{self.organization}/tenants/{self.tenant}"
            f"/workspaces/{self.workspace}/settings/{self.name}"
        )


@dataclass(frozen=True)
class ClusterInfo:
    name: str
    network: str
    locality: str = ""  # `region` or `region/zone`; empty when unknown
    organization: str = ""  # empty when the cluster has no Cluster object


@dataclass
class ParsedConfig:
    workspaces: list[Workspace] = field(default_factory=list)  # sorted by FQN
    settings: dict[tuple[str, str, str], Setting] = field(default_factory=dict)  # by workspace
    clusters: dict[str, ClusterInfo] = field(default_factory=dict)

    def cluster(self, name: str) -> ClusterInfo:
        """A cluster with no Cluster object: network = its name, no locality."""
        return self.clusters.get(name) or ClusterInfo(name=name, network=name)


def _metadata_pairs(
    labels: object, annotations: object, subject: str, source: str, findings: Findings
) -> tuple[Pairs, Pairs]:
    """Labels/annotations to propagate onto generated objects, minus what Kubernetes would
    reject and minus tctl's own keys (which always win)."""
    good_labels = []
    for key, value in pairs(labels):
        if key in RESERVED_LABELS:
            continue
        if is_qualified_name(key) and is_label_value(value):
            good_labels.append((key, value))
        else:
            findings.add(
                F.Code.METADATA_SKIPPED,
                "",
                subject,
                f"label {key}={value!r} is not a valid Kubernetes label: not copied to generated objects",
                source=source,
            )
    good_annotations = []
    for key, value in pairs(annotations):
        if key in RESERVED_ANNOTATIONS:
            continue
        if is_qualified_name(key):
            good_annotations.append((key, value))
        else:
            findings.add(
                F.Code.METADATA_SKIPPED,
                "",
                subject,
                f"annotation key {key!r} is not valid: not copied to generated objects",
                source=source,
            )
    return tuple(good_labels), tuple(good_annotations)


def _workspace(body: dict, findings: Findings) -> Workspace | None:
    meta = as_map(body.get("metadata"))
    org, tenant = as_str(meta.get("organization")), as_str(meta.get("tenant"))
    name = as_str(meta.get("name"))
    if not (org and tenant and name):
        return None
    fqn = f"organizations/{org}/tenants/{tenant}/workspaces/{name}"
    patterns = []
    names = as_list(as_map(as_map(body.get("spec")).get("namespaceSelector")).get("names"))
    for entry in names:
        pattern, why = parse_namespace_selector(as_str(entry))
        if pattern is None:
            findings.add(
                F.Code.CONFIG_IGNORED, "", f"Workspace {fqn}", f"namespaceSelector entry ignored: {why}"
            )
            continue
        patterns.append(pattern)
    labels, annotations = _metadata_pairs(
        meta.get("labels"), meta.get("annotations"), f"Workspace {fqn}", "", findings
    )
    return Workspace(org, tenant, name, tuple(patterns), labels, annotations)


def _setting(body: dict, findings: Findings) -> Setting | None:
    meta = as_map(body.get("metadata"))
    org, tenant = as_str(meta.get("organization")), as_str(meta.get("tenant"))
    workspace, name = as_str(meta.get("workspace")), as_str(meta.get("name"))
    if not (org and tenant and workspace and name):
        return None
    probe = Setting(org, tenant, workspace, name, ())
    subject = f"WorkspaceSetting {probe.fqn}"
    entries = []
    spec = as_map(body.get("spec"))
    for index, raw in enumerate(as_list(spec.get("defaultEastWestGatewaySettings"))):
        raw = as_map(raw)
        selector = as_map(raw.get("workloadSelector"))
        exposed_raw = as_list(raw.get("exposedServices"))
        exposed = tuple(pairs(as_map(item).get("serviceLabels")) for item in exposed_raw) or None
        gen = as_map(raw.get("configGenerationMetadata"))
        meta_labels, meta_annotations = _metadata_pairs(
            gen.get("labels"),
            gen.get("annotations"),
            f"{subject} defaultEastWestGatewaySettings[{index}]",
            probe.fqn,
            findings,
        )
        entries.append(
            GatewayEntry(
                index=index,
                namespace=as_str(selector.get("namespace")),
                labels=pairs(selector.get("labels")),
                exposed=exposed,
                meta_labels=meta_labels,
                meta_annotations=meta_annotations,
            )
        )
        if not entries[-1].namespace or not entries[-1].labels:
            findings.add(
                F.Code.CONFIG_IGNORED,
                "",
                subject,
                f"defaultEastWestGatewaySettings[{index}].workloadSelector needs a namespace and "
                "at least one label: this gateway selects nothing",
                source=probe.fqn,
            )
    labels, annotations = _metadata_pairs(
        meta.get("labels"), meta.get("annotations"), subject, probe.fqn, findings
    )
    return Setting(org, tenant, workspace, name, tuple(entries), labels, annotations)


def _cluster(body: dict) -> ClusterInfo | None:
    meta = as_map(body.get("metadata"))
    name = as_str(meta.get("name"))
    if not name:
        return None
    spec = as_map(body.get("spec"))
    locality = as_map(spec.get("locality"))
    region = as_str(locality.get("region")).strip()
    zone = as_str(locality.get("zone")).strip()
    where = ""
    if region and "/" not in region:
        where = f"{region}/{zone}" if zone and "/" not in zone else region
    return ClusterInfo(
        name=name,
        network=as_str(spec.get("network")).strip() or name,
        locality=where,
        organization=as_str(meta.get("organization")),
    )


def parse_config(config: MeshConfig, findings: Findings) -> ParsedConfig:
    parsed = ParsedConfig()
    workspaces: dict[tuple[str, str, str], Workspace] = {}
    parsed_workspaces = (_workspace(body, findings) for body in _bodies(config.workspaces))
    found = (w for w in parsed_workspaces if w is not None)
    for ws in sorted(found, key=lambda w: (w.fqn, repr(w))):
        workspaces.setdefault(ws.key, ws)
    parsed.workspaces = sorted(workspaces.values(), key=lambda w: w.fqn)

    settings = sorted(
        (s for s in (_setting(b, findings) for b in _bodies(config.settings)) if s is not None),
        key=lambda s: (s.fqn, repr(s)),
    )
    for setting in settings:
        if setting.workspace_key not in workspaces:
            findings.add(
                F.Code.CONFIG_IGNORED,
                "",
                f"WorkspaceSetting {setting.fqn}",
                "its workspace does not exist: the setting is ignored",
                source=setting.fqn,
            )
        elif setting.workspace_key in parsed.settings:
            kept = parsed.settings[setting.workspace_key]
            findings.add(
                F.Code.CONFIG_IGNORED,
                "",
                f"WorkspaceSetting {setting.fqn}",
                f"a workspace has one WorkspaceSetting; {kept.fqn} is used and this one is ignored",
                source=setting.fqn,
            )
        else:
            parsed.settings[setting.workspace_key] = setting

    clusters = sorted(
        (c for c in (_cluster(b) for b in _bodies(config.clusters)) if c is not None),
        key=lambda c: (c.name, c.organization, c.network, c.locality),
    )
    for info in clusters:
        parsed.clusters.setdefault(info.name, info)
    return parsed


def _bodies(items: Iterable[object]) -> list[dict]:
    """The dict bodies of a configuration list (callers sort what they parse: input order and
    duplicates never change the result)."""
    return [item for item in items if isinstance(item, dict)]

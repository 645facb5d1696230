"""Names, labels and annotations of generated objects, and the DNS-1123 / label syntax checks.

Everything that ends up in `metadata` is decided here, in one place, because names are part of
the product's contract: the reconcile layer finds its objects by them, and renaming anything
makes every `tctl sync` delete and recreate objects in every cluster.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache

# Defined once for every layer in tctl_py.kube; the engine's modules take them from here.
from tctl_py.kube import EXTERNAL_ADDRESSES_ANNOTATION as EXTERNAL_ADDRESSES_ANNOTATION
from tctl_py.kube import MANAGED_BY as MANAGED_BY
from tctl_py.kube import MANAGED_BY_VALUE as MANAGED_BY_VALUE
from tctl_py.kube import MULTICLUSTER_NAMESPACE as MULTICLUSTER_NAMESPACE
from tctl_py.kube import is_dns1123_label as is_dns1123_label
from tctl_py.kube import is_dns1123_subdomain as is_dns1123_subdomain
from tctl_py.kube import is_label_value as is_label_value
from tctl_py.kube import is_qualified_name as is_qualified_name

CLUSTER_DOMAIN = "cluster.local"
# Namespaces of Kubernetes, Istio and Tetrate's control plane (TSB's Organization
# `systemNamespaces`): a `*` or `prefix*` namespace pattern never covers them; naming one
# exactly (`*/istio-system`) does.
SYSTEM_NAMESPACES = frozenset(
    {"kube-system", "kube-public", "kube-node-lease", "istio-system", MULTICLUSTER_NAMESPACE}
)
GATEWAY_PORT = 15443  # the AUTO_PASSTHROUGH port of east-west gateways (SPEC §4 rule 2)

ISTIO_API_VERSION = "networking.istio.io/v1"

# Ownership and provenance (SPEC §3.3). Only objects labelled MANAGED_BY=tctl are ever touched.
LABEL_ORGANIZATION = "tctl.tetrate.io/organization"
LABEL_TENANT = "tctl.tetrate.io/tenant"
LABEL_WORKSPACE = "tctl.tetrate.io/workspace"
LABEL_SETTING = "tctl.tetrate.io/setting"
# The FQN of the WorkspaceSetting that produced the object: what ownership rests on. A run prunes
# an object only when the configuration it knows produced it (SPEC §3.3).
ANNOTATION_SOURCE = "tctl.tetrate.io/source"
# The clusters an object derives from, a JSON list of names (see `join_origins`). The reconcile
# plan leaves alone what derives from a cluster it could not read (SPEC §7: an unreadable
# cluster is no evidence that its services are gone).
ANNOTATION_ORIGINS = "tctl.tetrate.io/origins"
# The id of the store whose run last wrote the object: provenance for people, stamped at write
# time and never compared (a pipeline's fresh store must not rewrite every object).
ANNOTATION_STORE = "tctl.tetrate.io/store"
RESERVED_LABELS = (MANAGED_BY, LABEL_ORGANIZATION, LABEL_TENANT, LABEL_WORKSPACE, LABEL_SETTING)
RESERVED_ANNOTATIONS = (ANNOTATION_SOURCE, ANNOTATION_ORIGINS, ANNOTATION_STORE)

# Istio / Tetrate keys the engine reads or writes.
TLS_MODE_LABEL = "security.istio.io/tlsMode"
CLUSTER_LABEL = "topology.istio.io/cluster"
NETWORK_LABEL = "topology.istio.io/network"


def md5_hex(text: str) -> str:
    """Lowercase hex MD5 (a name digest, not security: allowed on FIPS builds)."""
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


@lru_cache(maxsize=4096)
def label_value(value: str) -> str:
    """`value` if it is a valid label value, else a valid, stable stand-in for it.

    Cluster names come from kubeconfig contexts (`arn:aws:eks:...:cluster/x`, `user@host`), which
    are not always valid label values; Istio's webhook rejects endpoint labels that are not.
    The stand-in keeps the legal characters and appends 8 hex of the MD5 of the original, so two
    different names never share a stand-in in practice.
    """
    if is_label_value(value):
        return value
    cleaned = re.sub(r"[^-A-Za-z0-9_.]", "-", value)[:54]
    cleaned = re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", cleaned)
    digest = md5_hex(value)[:8]
    return f"{cleaned}-{digest}" if cleaned else digest


def join_origins(clusters) -> str:
    """The `tctl.tetrate.io/origins` value: distinct cluster names, sorted, as a JSON list
    (`["cluster-1","cluster-3"]`), so that any context name, commas included, reads back as
    itself."""
    return json.dumps(sorted(set(clusters)), separators=(",", ":"), ensure_ascii=False)


def split_origins(value: object) -> frozenset[str] | None:
    """The cluster names of a `tctl.tetrate.io/origins` value; None when it is not a JSON list
    of strings (the comma-separated form of earlier versions included): origins unknown, which
    the reconcile plan treats with the most caution."""
    if not isinstance(value, str):
        return None
    try:
        names = json.loads(value)
    except ValueError:
        return None
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        return None
    return frozenset(names)


def service_fqdn(namespace: str, name: str) -> str:
    """The host clients use, in every cluster (SPEC §1: no change to clients)."""
    return f"{name}.{namespace}.svc.{CLUSTER_DOMAIN}"


def service_entry_name(namespace: str, name: str) -> str:
    """`<name>.<namespace>`: readable, one per host (Service and namespace names hold no dot).

    A DNS-1123 subdomain of at most 127 characters; Istio validates no ServiceEntry name beyond
    the API server's subdomain rule (only Gateway names must be labels).
    """
    return f"{name}.{namespace}"


def destination_rule_name(namespace: str, name: str) -> str:
    """Same scheme as the ServiceEntry: one failover DestinationRule per host and namespace."""
    return f"{name}.{namespace}"


def workload_entry_names(origin_cluster: str, namespace: str, name: str, count: int) -> tuple[str, ...]:
    """SPEC §4 rule 6, for the `count` addresses of an origin's gateway:
    `k-<name>-<md5 of "<c>/<ns>/<name>">`, then `-2`, `-3`..."""
    base = f"k-{name}-{md5_hex(f'{origin_cluster}/{namespace}/{name}')}"
    return tuple(base if index == 1 else f"{base}-{index}" for index in range(1, count + 1))


def gateway_name(gateway_service: str) -> str:
    """`tctl-<gateway Service name>`; Istio requires Gateway names to be DNS-1123 labels.

    Longer than 63 characters: the first 49 characters of the Service name, `-`, and 8 hex of
    its MD5, so the name stays unique per gateway Service and valid.
    """
    name = f"tctl-{gateway_service}"
    if len(name) <= 63:
        return name
    head = gateway_service[:49].rstrip("-")
    return f"tctl-{head}-{md5_hex(gateway_service)[:8]}"

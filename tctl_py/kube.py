"""Kubernetes syntax and tctl's own marks on cluster objects, defined once for every layer.

Standard library only: the document checks of `validate` (config/), the engine (mesh/), the
reconcile plan and the fleet's clients (fleet/) all read these, and `validate` must stay fast to
start.
"""

from __future__ import annotations

import re

# Ownership (SPEC §3.3): only objects labelled MANAGED_BY=MANAGED_BY_VALUE are ever touched, and
# tctl writes them with server-side apply as the field manager FIELD_MANAGER.
MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "tctl"
MANAGED_SELECTOR = f"{MANAGED_BY}={MANAGED_BY_VALUE}"
FIELD_MANAGER = "tctl"
# Where ServiceEntries of remote services go in each consumer cluster (Tetrate's name).
MULTICLUSTER_NAMESPACE = "xcp-multicluster"
# Tetrate's annotation on a gateway Service: the addresses other clusters reach it at.
EXTERNAL_ADDRESSES_ANNOTATION = "xcp.tetrate.io/cluster-external-addresses"

# Object metadata the API server keeps for its own bookkeeping: never compared, never shown in a
# diff, never sent back (resourceVersion would be a precondition).
SERVER_METADATA = frozenset(
    {"uid", "resourceVersion", "generation", "managedFields", "creationTimestamp", "selfLink"}
)
# Set by the API server on an object being deleted: a diff shows it, an apply never sends it.
DELETION_METADATA = frozenset({"deletionTimestamp", "deletionGracePeriodSeconds"})

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL = re.compile(rf"^{_LABEL}$")
_DNS1123_SUBDOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


def is_dns1123_label(value: str) -> bool:
    """A namespace or Service name: at most 63 of a-z, 0-9 and "-", alphanumeric at both ends."""
    return isinstance(value, str) and len(value) <= 63 and bool(_DNS1123_LABEL.match(value))


def is_dns1123_subdomain(value: str) -> bool:
    """Most object names: dot-separated DNS-1123 labels, at most 253 characters."""
    return isinstance(value, str) and len(value) <= 253 and bool(_DNS1123_SUBDOMAIN.match(value))


def is_label_value(value: str) -> bool:
    """Empty, or at most 63 of letters, digits, "-", "_", ".", alphanumeric at both ends."""
    return isinstance(value, str) and len(value) <= 63 and bool(_LABEL_VALUE.match(value))


def is_label_name(name: str) -> bool:
    """The name part of a label or annotation key (after any `prefix/`)."""
    return isinstance(name, str) and len(name) <= 63 and bool(_QUALIFIED_NAME.match(name))


def is_qualified_name(key: str) -> bool:
    """A label or annotation key: `[prefix/]name`, prefix a DNS-1123 subdomain, name <= 63."""
    if not isinstance(key, str) or not key:
        return False
    prefix, _, name = key.rpartition("/")
    if "/" in prefix:
        return False
    if prefix and not is_dns1123_subdomain(prefix):
        return False
    return is_label_name(name)

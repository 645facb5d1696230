"""The YAML loader and dumper of the fleet package: libyaml when present, timestamps kept as text."""

from __future__ import annotations

import yaml

try:  # libyaml when available: about 10x faster than the pure-Python classes
    from yaml import CSafeDumper as _BaseDumper
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeDumper as _BaseDumper
    from yaml import SafeLoader as _BaseLoader

_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class Loader(_BaseLoader):
    """Safe loader; an unquoted `2024-01-01T00:00:00Z` stays a string, as Kubernetes reads it."""


Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


class Dumper(_BaseDumper):
    """Safe dumper."""


def dump(data: object) -> str:
    """Block-style YAML, keys sorted, long strings never folded: byte-stable for the same data."""
    return yaml.dump(
        data, Dumper=Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True, width=1 << 30
    )

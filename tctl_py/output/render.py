"""Objects as YAML, JSON and `kind/name` lines, the way kubectl prints them."""

from __future__ import annotations

import json
from collections.abc import Sequence

import yaml

try:
    from yaml import CSafeDumper as _Dumper
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeDumper as _Dumper  # type: ignore[assignment]


def to_yaml(body: object) -> str:
    return yaml.dump(body, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=1 << 16)


def as_list(bodies: Sequence[dict]) -> dict:
    """Several objects are one `kind: List`, as `kubectl get -o yaml|json` prints them."""
    return {"apiVersion": "v1", "kind": "List", "items": list(bodies)}


def one_or_list(bodies: Sequence[dict], single: bool) -> object:
    return bodies[0] if single and len(bodies) == 1 else as_list(bodies)


def yaml_text(bodies: Sequence[dict], single: bool = False) -> str:
    return to_yaml(one_or_list(bodies, single))


def json_text(bodies: Sequence[dict], single: bool = False) -> str:
    return json.dumps(one_or_list(bodies, single), indent=2, ensure_ascii=False) + "\n"

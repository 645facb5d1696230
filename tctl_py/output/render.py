"""Objects as YAML, JSON and `kind/name` lines, the way kubectl prints them."""

from __future__ import annotations

import json
from collections.abc import Sequence

import yaml

try:
    from yaml import CSafeDumper as _Dumper
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeDumper as _Dumper  # type: ignore[assignment]


class _PlainDumper(_Dumper):  # type: ignore[misc,valid-type]
    """Never writes anchors and aliases (&id001/*id001), even for shared values: output is read
    by kubectl, reviewers and diff tools, object by object."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def to_yaml(body: object) -> str:
    return yaml.dump(
        body,
        Dumper=_PlainDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1 << 16,
    )


def as_list(bodies: Sequence[dict]) -> dict:
    """Several objects are one `kind: List`, as `kubectl get -o yaml|json` prints them."""
    return {"apiVersion": "v1", "kind": "List", "items": list(bodies)}


def one_or_list(bodies: Sequence[dict], single: bool) -> object:
    return bodies[0] if single and len(bodies) == 1 else as_list(bodies)


def yaml_text(bodies: Sequence[dict], single: bool = False) -> str:
    if (single and len(bodies) == 1) or not bodies:
        return to_yaml(one_or_list(bodies, single))
    # The same bytes as dumping the whole List, one item at a time: PyYAML holds a document's
    # entire node tree in memory, hundreds of MiB for the ServiceEntries of a large fleet.
    return "apiVersion: v1\nkind: List\nitems:\n" + "".join(to_yaml([body]) for body in bodies)


def json_text(bodies: Sequence[dict], single: bool = False) -> str:
    return json.dumps(one_or_list(bodies, single), indent=2, ensure_ascii=False) + "\n"

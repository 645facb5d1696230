"""Objects as YAML, JSON and `kind/name` lines, the way kubectl prints them."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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


def to_json(body: object) -> str:
    return json.dumps(body, indent=2, ensure_ascii=False)


def as_list(bodies: Sequence[dict]) -> dict:
    """Several objects are one `kind: List`, as `kubectl get -o yaml|json` prints them."""
    return {"apiVersion": "v1", "kind": "List", "items": list(bodies)}


@dataclass(frozen=True)
class ListFormat:
    """How a `kind: List` is written piece by piece: `head`, each item (`first` tells whether a
    separator goes before it), `tail`; `empty` is the List without items and `alone` an object
    printed by itself."""

    head: str
    item: Callable[[dict, bool], str]
    tail: str
    empty: str
    alone: Callable[[dict], str]


# Item by item, the same bytes as dumping the whole List: PyYAML holds a document's entire node
# tree in memory, hundreds of MiB for the ServiceEntries of a large fleet.
YAML = ListFormat(
    head="apiVersion: v1\nkind: List\nitems:\n",
    item=lambda body, first: to_yaml([body]),
    tail="",
    empty="apiVersion: v1\nkind: List\nitems: []\n",
    alone=to_yaml,
)

# json.dumps(indent=2) puts the List's items two levels deep and never writes a raw newline
# inside a string, so an item is its own dump with every line indented by four spaces.
JSON = ListFormat(
    head='{\n  "apiVersion": "v1",\n  "kind": "List",\n  "items": [\n',
    item=lambda body, first: ("    " if first else ",\n    ") + to_json(body).replace("\n", "\n    "),
    tail="\n  ]\n}\n",
    empty='{\n  "apiVersion": "v1",\n  "kind": "List",\n  "items": []\n}\n',
    alone=lambda body: to_json(body) + "\n",
)

FORMATS = {"yaml": YAML, "json": JSON}


class ListPrinter:
    """Writes objects as they come, as one `kind: List`, or with `single` as the object alone when
    it turns out to be the only one: the first object is held back until a second one, or the
    end, decides which. Call `close` after the last object."""

    def __init__(self, fmt: ListFormat, write: Callable[[str], None], *, single: bool = False) -> None:
        self._format = fmt
        self._write = write
        self._single = single
        self._count = 0
        self._held: dict | None = None

    def add(self, body: dict) -> None:
        self._count += 1
        if self._count == 1 and self._single:
            self._held = body
            return
        if self._held is not None:
            self._write(self._format.head + self._format.item(self._held, True))
            self._held = None
        first = self._count == 1
        self._write((self._format.head if first else "") + self._format.item(body, first))

    def close(self) -> None:
        if self._held is not None:
            self._write(self._format.alone(self._held))
        elif self._count == 0:
            self._write(self._format.empty)
        else:
            self._write(self._format.tail)

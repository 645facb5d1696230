"""Objects as YAML, JSON and `kind/name` lines, the way kubectl prints them."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import yaml

try:
    from yaml import CSafeDumper as _Dumper
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeDumper as _Dumper


class _PlainDumper(_Dumper):
    """Never writes anchors and aliases (&id001/*id001), even for shared values: output is read
    by kubectl, reviewers and diff tools, object by object."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def to_yaml(body: object) -> str:
    """`body` in block style, as PyYAML (with libyaml) dumps it. Objects of dicts, lists, ints,
    booleans, None and one-line ASCII strings (every generated object, nearly) are written here
    directly, several times faster than PyYAML, which builds a node tree first; anything else
    goes to PyYAML."""
    try:
        return _block(body)
    except _ForPyYAML:
        return yaml.dump(
            body,
            Dumper=_PlainDumper,
            sort_keys=False,
            default_flow_style=False,
            allow_unicode=True,
            width=1 << 16,
        )


class _ForPyYAML(Exception):
    """A value `_block` leaves to PyYAML: a float, a key that is no string or is 128 characters
    or more, a string with a line break, a tab, non-ASCII characters or over 1000 characters."""


_ONE_LINE = re.compile(r"[\x20-\x7e]{0,1000}\Z")  # printable ASCII, too short to be folded
_INDICATORS = "#,[]{}&*!|>'\"%@`"  # a plain scalar cannot start with these
_RESOLVER = yaml.resolver.Resolver()
_STR = "tag:yaml.org,2002:str"


@functools.lru_cache(maxsize=1 << 14)
def _string(value: str) -> str:
    """`value` as libyaml writes it in block context: plain when nothing in it reads as YAML
    syntax and it reads back as a string, else single-quoted."""
    if not _ONE_LINE.match(value):
        raise _ForPyYAML
    syntax = (
        not value
        or value[0] in _INDICATORS
        or value[0] == " "
        or value[-1] == " "
        or value.startswith(("---", "...", "? ", "- "))
        or value in ("?", "-")
        or ": " in value
        or value.endswith(":")
        or " #" in value
    )
    if not syntax and _RESOLVER.resolve(yaml.ScalarNode, value, (True, False)) == _STR:
        return value
    return "'" + value.replace("'", "''") + "'"


def _scalar(value: object) -> str:
    if type(value) is str:
        return _string(value)
    if value is None:
        return "null"
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) is int:
        return str(value)
    if value == {} and type(value) is dict:
        return "{}"
    if value == [] and type(value) is list:
        return "[]"
    raise _ForPyYAML


def _block(body: object) -> str:
    out: list[str] = []
    if type(body) is dict and body:
        _mapping(body, 0, "", out)
    elif type(body) is list and body:
        _sequence(body, 0, "", out)
    else:
        raise _ForPyYAML
    return "".join(out)


def _mapping(data: dict, indent: int, lead: str, out: list[str]) -> None:
    """Each `key: value` at `indent`; the first line starts with `lead` (`- ` in a list)."""
    pad = " " * indent
    for key, value in data.items():
        if type(key) is not str or len(key) >= 128:  # PyYAML writes longer keys as `? key`
            raise _ForPyYAML
        line = f"{lead}{_scalar(key)}:"
        lead = pad
        if type(value) is dict and value:
            out.append(line + "\n")
            _mapping(value, indent + 2, pad + "  ", out)
        elif type(value) is list and value:
            out.append(line + "\n")
            _sequence(value, indent, pad, out)  # a mapping's list is not indented
        else:
            out.append(f"{line} {_scalar(value)}\n")


def _sequence(data: list, indent: int, lead: str, out: list[str]) -> None:
    pad = " " * indent
    for item in data:
        if type(item) is dict and item:
            _mapping(item, indent + 2, lead + "- ", out)
        elif type(item) is list and item:
            _sequence(item, indent + 2, lead + "- ", out)
        else:
            out.append(f"{lead}- {_scalar(item)}\n")
        lead = pad


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

    def __init__(self, fmt: ListFormat, write: Callable[[str], object], *, single: bool = False) -> None:
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

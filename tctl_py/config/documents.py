"""Reading YAML/JSON documents from files, folders and stdin, keeping every value's position.

libyaml composes each document into a node graph; we build plain Python data from the nodes
ourselves, which lets us reject duplicate keys, bound alias expansion ("billion laughs") and
nesting depth, and keep the node so any JSON path can later be mapped back to line and column.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tctl_py.errors import Position, Problem, UsageError

try:  # libyaml when available: about 10x faster than the pure-Python parser
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

EXTENSIONS = (".yaml", ".yml", ".json")
STDIN = "-"
STDIN_NAME = "<stdin>"

# A Kubernetes object of a few thousand values is already large; aliases that make one document
# expand beyond this are an attack or a mistake, and are refused before they cost memory.
MAX_NODES = 200_000
MAX_DEPTH = 128

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"
# Timestamps and binary stay the text they were written as, like Kubernetes' YAML-to-JSON does.
_AS_TEXT = {_STR, "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"}

_scalars = yaml.constructor.SafeConstructor()
_PLAIN = "remove the tag: only plain mappings, lists, strings, numbers, booleans and null are read"


@dataclass(eq=False)
class Document:
    """One object read from an input, with the node it was built from (None for plain JSON)."""

    source: str
    body: object
    node: yaml.Node | None = field(default=None, repr=False)
    line: int = 1
    column: int = 1

    @property
    def api_version(self) -> str:
        return _field(self.body, "apiVersion")

    @property
    def kind(self) -> str:
        return _field(self.body, "kind")

    @property
    def metadata(self) -> dict:
        meta = self.body.get("metadata") if isinstance(self.body, dict) else None
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        value = self.metadata.get("name")
        return value if isinstance(value, str) else ""

    def position(self, path: Sequence[str | int] = (), *, key: bool = False) -> Position:
        """Position of the value at `path` (or of its key), else of the deepest ancestor found."""
        node = self.node
        if node is None:
            return Position(self.source, self.line, self.column)
        mark = node.start_mark
        for step in path:
            child, key_node = _child(node, step)
            if child is None:
                break
            node = child
            mark = key_node.start_mark if key and key_node is not None else child.start_mark
        return Position(self.source, mark.line + 1, mark.column + 1)


def _field(body: object, name: str) -> str:
    value = body.get(name) if isinstance(body, dict) else None
    return value if isinstance(value, str) else ""


def _child(node: yaml.Node, step: str | int) -> tuple[yaml.Node | None, yaml.Node | None]:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(step):
                return value_node, key_node
        for key_node, value_node in node.value:  # keys brought in by a `<<` merge
            if key_node.tag == _MERGE:
                for source in _merge_sources(value_node):
                    found = _child(source, step)
                    if found[0] is not None:
                        return found
    elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
        return node.value[step], None
    return None, None


def _merge_sources(node: yaml.Node) -> list[yaml.Node]:
    return list(node.value) if isinstance(node, yaml.SequenceNode) else [node]


class _Refused(Exception):
    """A document that must not be built; carries the problem to report."""

    def __init__(self, node: yaml.Node, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.node = node
        self.message = message
        self.hint = hint


class _Builder:
    """Builds plain data from one composed document, within a node budget."""

    def __init__(self) -> None:
        self.budget = MAX_NODES

    def build(self, node: yaml.Node, depth: int = 0) -> object:
        self.budget -= 1
        if self.budget < 0:
            raise _Refused(node, f"document expands to more than {MAX_NODES} values",
                           "YAML aliases (*name) that repeat large anchors are refused")
        if depth > MAX_DEPTH:
            raise _Refused(node, f"document is nested more than {MAX_DEPTH} levels deep",
                           "a YAML alias may refer to itself")
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
            return [self.build(item, depth + 1) for item in node.value]
        if isinstance(node, yaml.MappingNode) and node.tag == _MAP:
            return self._mapping(node, depth)
        raise _Refused(node, f"unsupported YAML tag {node.tag}", _PLAIN)

    def _scalar(self, node: yaml.ScalarNode) -> object:
        tag = node.tag
        if tag in _AS_TEXT:
            return node.value
        if tag == _INT:
            return _scalars.construct_yaml_int(node)
        if tag == _FLOAT:
            return _scalars.construct_yaml_float(node)
        if tag == _BOOL:
            return _scalars.construct_yaml_bool(node)
        if tag == _NULL:
            return None
        raise _Refused(node, f"unsupported YAML tag {tag}", _PLAIN)

    def _mapping(self, node: yaml.MappingNode, depth: int) -> dict:
        result: dict = {}
        merged: dict = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                for source in _merge_sources(value_node):
                    data = self.build(source, depth + 1)
                    if not isinstance(data, dict):
                        raise _Refused(source, "a `<<` merge takes a mapping or a list of mappings")
                    merged = {**data, **merged}  # earlier sources win, as YAML specifies
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Refused(key_node, "mapping keys must be plain scalars")
            key = key_node.value
            if key in result:
                raise _Refused(key_node, f'duplicate key "{key}"',
                               "each key may appear once in a mapping; remove one of them")
            result[key] = self.build(value_node, depth + 1)
        if merged:
            return {**merged, **result}
        return result


@dataclass
class Source:
    name: str
    text: str


def iter_sources(paths: Iterable[str], recursive: bool = False, stdin=None) -> Iterator[Source | Problem]:
    """Files named by -f, in order: a file as given, a folder's .yaml/.yml/.json files sorted."""
    for path in paths:
        if path == STDIN:
            stream = stdin if stdin is not None else sys.stdin
            yield Source(STDIN_NAME, stream.read())
            continue
        target = Path(path)
        if target.is_dir():
            files = _folder_files(target, recursive)
            if not files:
                hint = "" if recursive else "use -R to read its sub-folders"
                yield Problem(Position(path), "the folder holds no .yaml, .yml or .json file", hint=hint)
            yield from (read_source(file) for file in files)
        elif target.exists():
            yield read_source(target)
        else:
            raise UsageError(f'the path "{path}" does not exist')


def _folder_files(folder: Path, recursive: bool) -> list[Path]:
    if not recursive:
        return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in EXTENSIONS)
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(root, f) for f in files if Path(f).suffix in EXTENSIONS]
    return sorted(found)


def read_source(path: Path) -> Source | Problem:
    try:
        return Source(str(path), path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        return Problem(Position(str(path)), f"not UTF-8 text ({exc.reason} at byte {exc.start})")
    except OSError as exc:
        return Problem(Position(str(path)), f"cannot read: {exc.strerror}")


def parse(source: Source) -> tuple[list[Document], list[Problem]]:
    """All documents of one source, with `kind: List` flattened; problems instead of exceptions."""
    documents: list[Document] = []
    problems: list[Problem] = []
    syntax_error = False
    empty = True  # no YAML document at all (an empty `kind: List` is a document, not empty)
    loader = _Loader(source.text)
    try:
        while True:
            try:
                if not loader.check_node():
                    break
                node = loader.get_node()
            except yaml.MarkedYAMLError as exc:
                problems.append(_syntax_problem(source, exc))
                syntax_error = True
                break
            if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _NULL):
                continue  # an empty document between two `---`
            empty = False
            try:
                body = _Builder().build(node)
            except _Refused as refused:
                mark = refused.node.start_mark
                problems.append(Problem(Position(source.name, mark.line + 1, mark.column + 1),
                                        refused.message, hint=refused.hint))
                continue
            documents.extend(_flatten(source.name, body, node))
    except yaml.YAMLError as exc:  # pragma: no cover - reader errors without a mark
        problems.append(Problem(Position(source.name), f"cannot parse: {exc}"))
    finally:
        loader.dispose()
    if syntax_error and not documents and source.name.endswith(".json"):
        return _parse_json(source)
    if empty and not problems:
        problems.append(Problem(Position(source.name), "no documents found",
                                hint="the input is empty or holds only comments"))
    return documents, problems


def _parse_json(source: Source) -> tuple[list[Document], list[Problem]]:
    """JSON that YAML 1.1 cannot read (tabs, for one): read as JSON, with the same refusals."""
    try:
        body = json.loads(source.text, object_pairs_hook=_unique_keys)
        _check_depth(body)
    except json.JSONDecodeError as exc:
        return [], [Problem(Position(source.name, exc.lineno, exc.colno), f"invalid JSON: {exc.msg}")]
    except (ValueError, RecursionError) as exc:
        message = str(exc) if isinstance(exc, ValueError) else f"nested more than {MAX_DEPTH} levels deep"
        return [], [Problem(Position(source.name, 1, 1), message)]
    return [Document(source.name, item) for item in _items(body)], []


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f'duplicate key "{key}"')
        result[key] = value
    return result


def _check_depth(body: object) -> None:
    pending = [(body, 0)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"document is nested more than {MAX_DEPTH} levels deep")
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        pending += [(child, depth + 1) for child in children]


def _items(body: object) -> list[object]:
    """The objects of a document: its items if it is a list (`kind: List`, or a typed one such
    as `ServiceList`, whose items `kubectl get --raw` prints without apiVersion and kind: they
    get the list's), else the document itself."""
    if not (isinstance(body, dict) and isinstance(body.get("items"), list)
            and isinstance(body.get("kind"), str) and body["kind"].endswith("List")):
        return [body]
    kind = body["kind"][: -len("List")]
    if not kind:
        return body["items"]
    api_version = body.get("apiVersion", "")
    return [{"apiVersion": api_version, "kind": kind, **item} if isinstance(item, dict) else item
            for item in body["items"]]


def _flatten(name: str, body: object, node: yaml.Node) -> list[Document]:
    items = _items(body)
    if len(items) == 1 and items[0] is body:
        return [_document(name, body, node)]
    items_node, _ = _child(node, "items")
    nodes = items_node.value if isinstance(items_node, yaml.SequenceNode) else []
    return [_document(name, item, item_node) for item, item_node in zip(items, nodes)]


def _document(name: str, body: object, node: yaml.Node) -> Document:
    return Document(name, body, node, node.start_mark.line + 1, node.start_mark.column + 1)


def _syntax_problem(source: Source, exc: yaml.MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    message = " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
    return Problem(Position(source.name, line, column), f"YAML syntax error: {message}")


@dataclass
class Loaded:
    """Every document of every input, the problems met reading them, and the files in order."""

    documents: list[Document] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def load(paths: Iterable[str], recursive: bool = False, stdin=None) -> Loaded:
    loaded = Loaded()
    for source in iter_sources(paths, recursive, stdin):
        if isinstance(source, Problem):
            loaded.files.append(source.position.file)
            loaded.problems.append(source)
            continue
        loaded.files.append(source.name)
        found, trouble = parse(source)
        loaded.documents += found
        loaded.problems += trouble
    if not loaded.documents and not loaded.problems and loaded.files:
        loaded.problems.append(Problem(Position(loaded.files[0]), "no objects in the input",
                                       hint="its lists (kind: List) are empty"))
    return loaded

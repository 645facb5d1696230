"""Reading YAML/JSON documents from files, folders and stdin, keeping every value's position.

libyaml composes each document into a node graph; we build plain Python data from the nodes
ourselves, which lets us reject duplicate keys, bound alias expansion ("billion laughs") and
nesting depth, and keep the node so any JSON path can later be mapped back to line and column.
"""

from __future__ import annotations

import codecs
import dataclasses
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import yaml

from tctl_py.config import limits
from tctl_py.errors import Position, Problem, UsageError

try:  # libyaml when available: about 10x faster than the pure-Python parser
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader

EXTENSIONS = (".yaml", ".yml", ".json")
STDIN = "-"
STDIN_NAME = "<stdin>"
NO_DOCUMENTS = "no documents found"

# A Kubernetes object of a few thousand values is already large; aliases that make one document
# expand beyond this are an attack or a mistake, and are refused before they cost memory.
MAX_NODES = 200_000
MAX_DEPTH = 128
# Python refuses to convert longer decimal integers (quadratic time); so do we, with a position.
MAX_INT_DIGITS = sys.get_int_max_str_digits() or 4300
_CHUNK = 1 << 20  # bytes read at a time, so the size cap holds before memory grows

# What YAML 1.1 accepts in a stream: no NUL, and no control characters but tab and line breaks.
_NOT_YAML = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_OTHER_ENCODINGS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)

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
    def mapping(self) -> dict:
        """The body when it is a mapping (every document a kind was found for), else {}."""
        return self.body if isinstance(self.body, dict) else {}

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
        # Aliases repeat an anchor's text without costing input bytes; bound what they expand to.
        self.characters = limits.max_input_size

    def build(self, node: yaml.Node, depth: int = 0) -> object:
        self.budget -= 1
        if self.budget < 0:
            raise _Refused(
                node,
                f"document expands to more than {MAX_NODES} values",
                "YAML aliases (*name) that repeat large anchors are refused",
            )
        if depth > MAX_DEPTH:
            raise _Refused(
                node,
                f"document is nested more than {MAX_DEPTH} levels deep",
                "flatten it; a YAML alias inside its own anchor nests without end",
            )
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
            return [self.build(item, depth + 1) for item in node.value]
        if isinstance(node, yaml.MappingNode) and node.tag == _MAP:
            return self._mapping(node, depth)
        raise _Refused(node, f"unsupported YAML tag {node.tag}", _PLAIN)

    def _scalar(self, node: yaml.ScalarNode) -> object:
        tag = node.tag
        self.characters -= len(node.value)
        if self.characters < 0:
            raise _Refused(
                node,
                f"document expands to more than {limits.max_input_size} characters",
                "YAML aliases (*name) that repeat large anchors are refused",
            )
        if tag in _AS_TEXT:
            return node.value
        if tag == _INT:
            digits = sum(c.isdigit() for c in node.value)
            if digits > MAX_INT_DIGITS:
                raise _Refused(
                    node,
                    f"integer of {digits} digits is too large (at most {MAX_INT_DIGITS})",
                    "quote it if it is meant as text",
                )
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
                raise _Refused(
                    key_node,
                    f'duplicate key "{key}"',
                    "each key may appear once in a mapping; remove one of them",
                )
            result[key] = self.build(value_node, depth + 1)
        if merged:
            return {**merged, **result}
        return result


@dataclass
class Source:
    name: str
    text: str
    in_folder: bool = False  # read as one file of a folder given to -f, not named itself


def iter_sources(paths: Iterable[str], recursive: bool = False, stdin=None) -> Iterator[Source | Problem]:
    """Files named by -f, in order: a file as given, a folder's .yaml/.yml/.json files sorted.

    `stdin` is a binary stream (default: the process's standard input)."""
    for path in paths:
        if path == STDIN:
            stream = stdin if stdin is not None else sys.stdin.buffer
            yield decode(STDIN_NAME, read_capped(stream))
            continue
        target = Path(path)
        if target.is_dir():
            files = _folder_files(target, recursive)
            if not files:
                hint = "" if recursive else "use -R to read its sub-folders"
                yield Problem(Position(path), "the folder holds no .yaml, .yml or .json file", hint=hint)
            for file in files:
                source = read_source(file)
                yield dataclasses.replace(source, in_folder=True) if isinstance(source, Source) else source
        elif target.exists():
            yield read_source(target)
        else:
            raise UsageError(f'the path "{path}" does not exist')


def _folder_files(folder: Path, recursive: bool) -> list[Path]:
    # Every entry but folders, so a dangling link or a FIFO is reported rather than skipped.
    if not recursive:
        return sorted(p for p in folder.iterdir() if not p.is_dir() and p.suffix in EXTENSIONS)
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(root, f) for f in files if Path(f).suffix in EXTENSIONS]
    return sorted(found)


def read_source(path: Path) -> Source | Problem:
    """One file's text; a Problem if it is too large or not UTF-8, a UsageError if it cannot be read."""
    try:
        with open(path, "rb") as stream:
            data = read_capped(stream)
    except OSError as exc:
        raise UsageError(
            f'cannot read "{path}": {exc.strerror}', hint="check that it is a readable file"
        ) from None
    return decode(str(path), data)


def read_capped(stream: BinaryIO) -> bytearray:
    """What `stream` holds, up to one byte past the input size cap (`decode` refuses that).

    Read a chunk at a time, so stdin, FIFOs and devices (/dev/zero) stop at the cap like files."""
    cap = limits.max_input_size
    data = bytearray()
    while len(data) <= cap:
        chunk = stream.read(min(_CHUNK, cap + 1 - len(data)))
        if not chunk:
            break
        data += chunk
    return data


def decode(name: str, data: bytes | bytearray) -> Source | Problem:
    """UTF-8 text (a byte order mark is dropped); a positioned Problem for anything else."""
    cap = limits.max_input_size
    if len(data) > cap:
        size = limits.describe(cap)
        return Problem(
            _byte_position(name, data, cap),
            f"the input is larger than {size}B, the limit on one input; reading stopped here",
            hint=f"if it is meant to be this large, raise the limit: {limits.OPTION} 256Mi "
            f"(or {limits.ENV}=256Mi)",
        )
    for mark, encoding in _OTHER_ENCODINGS:
        if data.startswith(mark):
            return Problem(
                Position(name, 1, 1),
                f"{encoding} text (it starts with a {encoding} byte order mark); tctl reads UTF-8",
                hint=f"convert it: iconv -f {encoding} -t UTF-8",
            )
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return Source(name, data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        offset = bom + exc.start
        return Problem(
            _byte_position(name, data, offset),
            f"not UTF-8 text: {exc.reason} (byte 0x{data[offset]:02X})",
            hint="tctl reads UTF-8; convert the file (iconv -f LATIN1 -t UTF-8), or is it binary?",
        )


def _byte_position(name: str, data: bytes | bytearray, offset: int) -> Position:
    """Line and column (in characters, as YAML counts them) of the byte at `offset`."""
    start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[start:offset].decode("utf-8-sig", "replace")) + 1
    return Position(name, data.count(b"\n", 0, offset) + 1, column)


def _text_position(name: str, text: str, offset: int) -> Position:
    return Position(name, text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset))


def parse(source: Source) -> tuple[list[Document], list[Problem]]:
    """All documents of one source, with `kind: List` flattened; problems instead of exceptions."""
    documents: list[Document] = []
    problems: list[Problem] = []
    syntax_error = False
    empty = True  # no YAML document at all (an empty `kind: List` is a document, not empty)
    crowded = _crowded_document(source.text)
    if crowded is not None:
        return [], [
            Problem(
                Position(source.name, crowded.line + 1, crowded.column + 1),
                f"document holds more than {MAX_NODES} values; reading stopped here",
                hint="split it into several documents or files",
            )
        ]
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
            except yaml.reader.ReaderError:
                problems.append(_unreadable_character(source))
                break
            if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _NULL):
                continue  # an empty document between two `---`
            empty = False
            try:
                body = _Builder().build(node)
            except _Refused as refused:
                mark = refused.node.start_mark
                problems.append(
                    Problem(
                        Position(source.name, mark.line + 1, mark.column + 1),
                        refused.message,
                        hint=refused.hint,
                    )
                )
                continue
            documents.extend(_flatten(source.name, body, node))
    except yaml.YAMLError as exc:  # pragma: no cover - reader errors without a mark
        problems.append(Problem(Position(source.name), f"cannot parse: {exc}"))
    finally:
        loader.dispose()
    if syntax_error and not documents and source.name.endswith(".json"):
        return _parse_json(source)
    if empty and not problems:
        problems.append(
            Problem(
                Position(source.name, 1, 1), NO_DOCUMENTS, hint="the input is empty or holds only comments"
            )
        )
    return documents, problems


_NODE_EVENTS = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent, yaml.AliasEvent)


def _crowded_document(text: str) -> yaml.Mark | None:
    """Where a document is first sure to hold more than MAX_NODES values, if one does.

    Counted on parser events, before libyaml's composer builds a node tree (about 300 bytes a
    node) that the builder's budget would refuse only afterwards. Events count keys too, and a
    mapping has as many values as keys, so past 2 x MAX_NODES events the values are over budget.
    A node takes at least a character (`{a,b}`): shorter texts need no counting."""
    budget = 2 * MAX_NODES
    if len(text) <= budget:
        return None
    parser = _Loader(text)
    nodes = 0
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, yaml.DocumentStartEvent):
                nodes = 0
            elif isinstance(event, _NODE_EVENTS):
                nodes += 1
                if nodes > budget:
                    return event.start_mark
    except yaml.YAMLError:
        return None  # composing the documents reports it, with what comes before
    finally:
        parser.dispose()
    return None


def _unreadable_character(source: Source) -> Problem:
    found = _NOT_YAML.search(source.text)
    if found is None:  # pragma: no cover - libyaml refuses only what the pattern finds
        return Problem(Position(source.name, 1, 1), "cannot parse: a character YAML does not accept")
    return Problem(
        _text_position(source.name, source.text, found.start()),
        f"character U+{ord(found[0]):04X} is not allowed in YAML text",
        hint="YAML holds no control characters but tab and line breaks: "
        "is the file binary, or UTF-16 without a byte order mark?",
    )


def _parse_json(source: Source) -> tuple[list[Document], list[Problem]]:
    """JSON that YAML 1.1 cannot read (tabs, for one): read as JSON, with the same refusals."""
    try:
        body = json.loads(
            source.text, object_pairs_hook=_unique_keys, parse_int=_json_int, parse_constant=_json_constant
        )
        _check_json(body)
    except json.JSONDecodeError as exc:
        return [], [Problem(Position(source.name, exc.lineno, exc.colno), f"invalid JSON: {exc.msg}")]
    except _JsonRefused as refused:
        return [], [Problem(_json_position(source, refused.at), refused.message, hint=refused.hint)]
    except RecursionError:
        return [], [Problem(Position(source.name, 1, 1), f"nested more than {MAX_DEPTH} levels deep")]
    return [Document(source.name, item) for item in _items(body)], []


class _JsonRefused(ValueError):
    """JSON that must not be read; `at` tells the token it was met on, if it can be told."""

    def __init__(self, message: str, at=None, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.at = at
        self.hint = hint


def _json_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise _JsonRefused(
            f"integer of {digits} digits is too large (at most {MAX_INT_DIGITS})",
            lambda token: token == text,
            "quote it if it is meant as text",
        )
    return int(text)


def _json_constant(text: str) -> float:
    raise _JsonRefused(
        f"{text} is not a JSON number",
        lambda token: token == text,
        "JSON has no NaN or Infinity; write a number",
    )


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise _JsonRefused(f'duplicate key "{key}"', hint="each key may appear once in an object")
        result[key] = value
    return result


def _check_json(body: object) -> None:
    """Refuse nesting deeper than MAX_DEPTH and strings with lone surrogates (`"\\ud800"`), which
    no UTF-8 output or the store could hold."""
    pending = [(body, 0)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise _JsonRefused(f"document is nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, dict):
            pending += [(key, depth + 1) for key in value]
            pending += [(child, depth + 1) for child in value.values()]
        elif isinstance(value, list):
            pending += [(child, depth + 1) for child in value]
        elif isinstance(value, str) and _has_surrogate(value):
            raise _JsonRefused(
                "a \\u escape encodes half a character (a lone UTF-16 surrogate)",
                lambda token: token.startswith('"') and _has_surrogate(json.loads(token)),
                "write the character itself, or both halves of its surrogate pair",
            )


def _has_surrogate(text: str) -> bool:
    return _SURROGATE.search(text) is not None


_SURROGATE = re.compile("[\ud800-\udfff]")


# A JSON string, or a run of characters that is a number or a literal.
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[^\s\[\]{},:"]+')


def _json_position(source: Source, at) -> Position:
    """Where the first token `at` accepts starts (1:1 if `at` is None or none does)."""
    if at is not None:
        for token in _JSON_TOKEN.finditer(source.text):
            if at(token[0]):
                return _text_position(source.name, source.text, token.start())
    return Position(source.name, 1, 1)


def _items(body: object) -> list[object]:
    """The objects of a document: its items if it is a list (`kind: List`, or a typed one such
    as `ServiceList`, whose items `kubectl get --raw` prints without apiVersion and kind: they
    get the list's), else the document itself."""
    if not (
        isinstance(body, dict)
        and isinstance(body.get("items"), list)
        and isinstance(body.get("kind"), str)
        and body["kind"].endswith("List")
    ):
        return [body]
    kind = body["kind"][: -len("List")]
    if not kind:
        return body["items"]
    api_version = body.get("apiVersion", "")
    return [
        {"apiVersion": api_version, "kind": kind, **item} if isinstance(item, dict) else item
        for item in body["items"]
    ]


def _flatten(name: str, body: object, node: yaml.Node) -> list[Document]:
    items = _items(body)
    if len(items) == 1 and items[0] is body:
        return [_document(name, body, node)]
    items_node, _ = _child(node, "items")
    nodes = items_node.value if isinstance(items_node, yaml.SequenceNode) else []
    return [_document(name, item, item_node) for item, item_node in zip(items, nodes, strict=False)]


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
        if source.in_folder:  # an empty file in a folder is skipped, as kubectl does
            trouble = [problem for problem in trouble if problem.message != NO_DOCUMENTS]
        loaded.documents += found
        loaded.problems += trouble
    if not loaded.documents and not loaded.problems and loaded.files:
        loaded.problems.append(
            Problem(
                Position(loaded.files[0]), "no objects in the input", hint="its lists (kind: List) are empty"
            )
        )
    return loaded

"""kubectl's JSONPath templates (`-o jsonpath=...`) and custom columns (`-o custom-columns=...`).

The dialect of `kubectl get -o jsonpath` (kubernetes.io/docs/reference/kubectl/jsonpath): text
with `{expression}` parts; expressions are `.field`, `['field']`, `..field` (at any depth), `*`,
`[n]`, `[start:end]`, `[?(@.field == "value")]` (also !=, <, >, <=, >= and `[?(@.field)]`), `@`
and `$`; `{range EXPR}...{end}` repeats its body for each result; `{"\n"}` is a literal. Several
results of one expression are joined by spaces; strings print bare, other values as JSON; a
missing field prints nothing (kubectl's `--allow-missing-template-keys`, on by default).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass


class TemplateError(ValueError):
    """A template or column spec that cannot be parsed; the message says where."""


# --- expressions ------------------------------------------------------------------------------

Step = Callable[[list], list]

_FILTER = re.compile(r"\?\(\s*@((?:\.[^\s=!<>()]+)*)\s*(?:(==|!=|<=|>=|<|>)\s*(.+?))?\s*\)\Z")
_SLICE = re.compile(r"(-?\d*):(-?\d*)\Z")


@dataclass(frozen=True)
class Path:
    text: str
    steps: tuple[Step, ...]

    def find(self, data: object) -> list:
        found = [data]
        for step in self.steps:
            found = step(found)
        return found


def compile_path(text: str) -> Path:
    """An expression as written between braces: `.items[*].metadata.name`."""
    body = text.strip()
    if body[:1] in ("$", "@"):
        body = body[1:]
    steps: list[Step] = []
    index = 0
    while index < len(body):
        if body.startswith("..", index):
            name, index = _field_name(body, index + 2)
            steps.append(_descendants(name))
        elif body[index] == ".":
            name, index = _field_name(body, index + 1)
            if name:  # a trailing or lone `.` is the current value
                steps.append(_wildcard if name == "*" else _field(name))
        elif body[index] == "[":
            end = _closing_bracket(body, index)
            steps.append(_subscript(body[index + 1 : end].strip(), text))
            index = end + 1
        else:
            raise TemplateError(f'unexpected "{body[index:]}" in "{text}"')
    return Path(text, tuple(steps))


def _field_name(body: str, index: int) -> tuple[str, int]:
    """The field name at `index` (up to `.` or `[`; `\\.` is a dot inside the name)."""
    name = []
    while index < len(body) and body[index] not in ".[":
        if body[index] == "\\" and index + 1 < len(body):
            index += 1
        name.append(body[index])
        index += 1
    return "".join(name), index


def _closing_bracket(body: str, start: int) -> int:
    quote = ""
    depth = 0
    for index in range(start, len(body)):
        char = body[index]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                return index
    raise TemplateError(f'unclosed "[" in "{body}"')


def _subscript(inside: str, text: str) -> Step:
    if inside == "*":
        return _wildcard
    if inside[:1] in "'\"" and inside[-1:] == inside[:1] and len(inside) >= 2:
        return _field(inside[1:-1])
    if re.fullmatch(r"-?\d+", inside):
        return _index(int(inside))
    if slice_ := _SLICE.match(inside):
        start, stop = (int(part) if part else None for part in slice_.groups())
        return lambda found: [v for item in found if isinstance(item, list) for v in item[start:stop]]
    if condition := _FILTER.match(inside):
        return _filter(compile_path(condition[1] or "@"), condition[2], condition[3])
    raise TemplateError(f'cannot read "[{inside}]" in "{text}"')


def _field(name: str) -> Step:
    return lambda found: [item[name] for item in found if isinstance(item, dict) and name in item]


def _wildcard(found: list) -> list:
    values: list = []
    for item in found:
        if isinstance(item, dict):
            values += item.values()
        elif isinstance(item, list):
            values += item
    return values


def _index(position: int) -> Step:
    def step(found: list) -> list:
        return [
            item[position] for item in found if isinstance(item, list) and -len(item) <= position < len(item)
        ]

    return step


def _descendants(name: str) -> Step:
    def walk(value: object) -> Iterator:
        if isinstance(value, dict):
            if name == "*" or name in value:
                yield from (value.values() if name == "*" else [value[name]])
            for child in value.values():
                yield from walk(child)
        elif isinstance(value, list):
            for child in value:
                yield from walk(child)

    return lambda found: [v for item in found for v in walk(item)]


_COMPARE: dict[str, Callable[[object, object], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,  # type: ignore[operator]
    ">": lambda a, b: a > b,  # type: ignore[operator]
    "<=": lambda a, b: a <= b,  # type: ignore[operator]
    ">=": lambda a, b: a >= b,  # type: ignore[operator]
}


def _filter(path: Path, operator: str | None, literal: str | None) -> Step:
    """`[?(@.a == "x")]`: the items of each list (or the values of each mapping) that match."""
    wanted = _literal(literal) if literal is not None else None

    def keep(item: object) -> bool:
        values = path.find(item)
        if operator is None:
            return bool(values)
        try:
            return any(_COMPARE[operator](value, wanted) for value in values)
        except TypeError:  # comparing a number with a string: no match
            return False

    return lambda found: [item for item in _wildcard(found) if keep(item)]


def _literal(text: str) -> object:
    text = text.strip()
    if text[:1] == "'" and text[-1:] == "'":
        return text[1:-1]
    try:
        return json.loads(text)
    except ValueError:
        return text


# --- templates --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Range:
    path: Path
    body: tuple


def compile_template(text: str) -> tuple:
    """The parts of a template: literal strings, Paths and ranges."""
    parts: list = []
    stack: list[tuple[Path, list]] = []
    index = 0
    while index < len(text):
        start = text.find("{", index)
        if start < 0:
            parts.append(text[index:])
            break
        if start > index:
            parts.append(text[index:start])
        end = _closing_brace(text, start)
        inside = text[start + 1 : end].strip()
        if inside.startswith("range "):
            stack.append((compile_path(inside[len("range ") :]), parts))
            parts = []
        elif inside == "end":
            if not stack:
                raise TemplateError(f'"{{end}}" without "{{range}}" in "{text}"')
            path, outer = stack.pop()
            outer.append(_Range(path, tuple(parts)))
            parts = outer
        elif inside[:1] == '"' and inside[-1:] == '"' and len(inside) >= 2:
            try:
                parts.append(json.loads(inside))
            except ValueError:
                raise TemplateError(f'cannot read the string {inside} in "{text}"') from None
        else:
            parts.append(compile_path(inside))
        index = end + 1
    if stack:
        raise TemplateError(f'"{{range}}" without "{{end}}" in "{text}"')
    return tuple(parts)


def _closing_brace(text: str, start: int) -> int:
    quote = ""
    for index in range(start + 1, len(text)):
        char = text[index]
        if quote:
            if char == "\\":
                continue
            quote = "" if char == quote and text[index - 1] != "\\" else quote
        elif char == '"':
            quote = char
        elif char == "}":
            return index
    raise TemplateError(f'unclosed "{{" in "{text}"')


def render_template(parts: Sequence, data: object) -> str:
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, Path):
            out.append(" ".join(text_of(value) for value in part.find(data)))
        else:
            for item in part.path.find(data):
                out.append(render_template(part.body, item))
    return "".join(out)


def text_of(value: object) -> str:
    """A value as kubectl's jsonpath prints it: strings bare, everything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# --- custom columns ---------------------------------------------------------------------------


def compile_columns(spec: str) -> list[tuple[str, Path]]:
    """`NAME:.metadata.name,HOST:.spec.host` as (header, path) pairs; `{...}` around a path is
    allowed, as kubectl allows it."""
    columns = []
    for column in spec.split(","):
        header, colon, expression = column.partition(":")
        if not colon or not header or not expression.strip():
            raise TemplateError(f'custom column "{column}" is not HEADER:EXPRESSION')
        expression = expression.strip()
        if expression.startswith("{") and expression.endswith("}"):
            expression = expression[1:-1]
        columns.append((header, compile_path(expression)))
    return columns


def column_cells(columns: Sequence[tuple[str, Path]], body: object) -> list[str]:
    """One row: each column's values joined by commas, `<none>` where there is none."""
    return [",".join(text_of(v) for v in path.find(body)) or "<none>" for _, path in columns]

"""Label selectors as kubectl's `-l/--selector` takes them: `app=web,tier!=db`, `env in (a,b)`,
`env notin (a)`, `env` (has the label), `!env` (has not). Parsing and matching are pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# A label key: an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters.
_NAME = r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_KEY = rf"(?:[a-z0-9](?:[-a-z0-9.]{{0,251}}[a-z0-9])?/)?{_NAME}"
_VALUE = rf"(?:{_NAME})?"
_EXISTS = re.compile(rf"({_KEY})\Z")
_ABSENT = re.compile(rf"!\s*({_KEY})\Z")
_EQUALITY = re.compile(rf"({_KEY})\s*(==|!=|=)\s*({_VALUE})\Z")
_SET = re.compile(rf"({_KEY})\s+(in|notin)\s*\(([^()]*)\)\Z")


class SelectorError(ValueError):
    """A selector that cannot be parsed; the message quotes the requirement."""


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        value = labels.get(self.key)
        if self.operator in ("=", "in"):
            return present and value in self.values
        return not present or value not in self.values  # != and notin: an absent label matches

    def __str__(self) -> str:
        if self.operator == "exists":
            return self.key
        if self.operator == "!":
            return f"!{self.key}"
        if self.operator in ("=", "!="):
            return f"{self.key}{self.operator}{self.values[0]}"
        return f"{self.key} {self.operator} ({','.join(self.values)})"


@dataclass(frozen=True)
class Selector:
    requirements: tuple[Requirement, ...]

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        """Every requirement holds (an empty selector matches everything)."""
        return all(r.matches(labels or {}) for r in self.requirements)

    def __str__(self) -> str:
        return ",".join(map(str, self.requirements))


def parse(text: str) -> Selector:
    """`text` as a Selector; SelectorError names the requirement it cannot read."""
    return Selector(tuple(_requirement(part.strip()) for part in _split(text) if part.strip()))


def _split(text: str) -> list[str]:
    """The comma-separated requirements; commas inside `( )` belong to a set of values."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    if text.strip() and not all(part.strip() for part in parts):
        raise SelectorError(f'"{text}" has an empty requirement')
    return parts


def _requirement(text: str) -> Requirement:
    if match := _ABSENT.match(text):
        return Requirement(match[1], "!")
    if match := _EXISTS.match(text):
        return Requirement(match[1], "exists")
    if match := _EQUALITY.match(text):
        return Requirement(match[1], "!=" if match[2] == "!=" else "=", (match[3],))
    if match := _SET.match(text):
        values = tuple(v.strip() for v in match[3].split(","))
        if all(re.fullmatch(_VALUE, v) for v in values):
            return Requirement(match[1], match[2], values)
    raise SelectorError(
        f'cannot read the label requirement "{text}"; write key=value, key!=value, '
        "key in (a,b), key notin (a,b), key or !key"
    )

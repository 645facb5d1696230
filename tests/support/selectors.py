"""Kubernetes label and field selectors, as the API server parses and applies them.

Label selectors (apimachinery `labels.Parse`): comma-separated requirements, each one of
`k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k` (exists), `!k` (does not exist),
`k>1`, `k<1` (integer comparison). Field selectors: `metadata.name`, `metadata.namespace`
(and `spec.type` etc. when the resource declares them) with `=`, `==`, `!=`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass


class SelectorError(ValueError):
    pass


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # "=", "!=", "in", "notin", "exists", "!", ">", "<"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        if self.operator in ("=", "in"):
            return present and value in self.values
        if self.operator in ("!=", "notin"):
            return not present or value not in self.values
        if self.operator in (">", "<"):
            try:
                number, bound = int(str(value)), int(self.values[0])
            except (TypeError, ValueError):
                return False
            return number > bound if self.operator == ">" else number < bound
        raise SelectorError(f"unknown operator {self.operator}")  # pragma: no cover


_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_SET = re.compile(rf"^\s*(?P<key>{_KEY})\s+(?P<op>in|notin)\s*\((?P<values>[^)]*)\)\s*$")
_CMP = re.compile(rf"^\s*(?P<key>{_KEY})\s*(?P<op>==|=|!=|>|<)\s*(?P<value>{_VALUE})\s*$")
_EXISTS = re.compile(rf"^\s*(?P<not>!?)\s*(?P<key>{_KEY})\s*$")


def _split(selector: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts, depth, current = [], 0, []
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise SelectorError(f"unbalanced ')' in selector {selector!r}")
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth:
        raise SelectorError(f"unbalanced '(' in selector {selector!r}")
    parts.append("".join(current))
    return parts


def parse_label_selector(selector: str | None) -> list[Requirement]:
    if selector is None or not selector.strip():
        return []
    requirements = []
    for part in _split(selector):
        if not part.strip():
            raise SelectorError(f"empty requirement in selector {selector!r}")
        if match := _SET.match(part):
            values = tuple(v.strip() for v in match["values"].split(",") if v.strip())
            if not values:
                raise SelectorError(f"{match['op']} needs at least one value: {part.strip()!r}")
            requirements.append(Requirement(match["key"], match["op"], values))
        elif match := _CMP.match(part):
            op = {"==": "="}.get(match["op"], match["op"])
            if op in (">", "<") and not re.fullmatch(r"-?\d+", match["value"] or ""):
                raise SelectorError(f"{op} needs an integer value: {part.strip()!r}")
            requirements.append(Requirement(match["key"], op, (match["value"] or "",)))
        elif match := _EXISTS.match(part):
            requirements.append(Requirement(match["key"], "!" if match["not"] else "exists"))
        else:
            raise SelectorError(f"unable to parse requirement: {part.strip()!r}")
    return requirements


def label_matcher(selector: str | None) -> Callable[[Mapping], bool]:
    """A predicate on objects; raises SelectorError for a selector the API server would refuse."""
    requirements = parse_label_selector(selector)

    def matches(obj: Mapping) -> bool:
        labels = ((obj.get("metadata") or {}).get("labels")) or {}
        return all(requirement.matches(labels) for requirement in requirements)

    return matches


def _field_value(obj: Mapping, path: str) -> str:
    value: object = obj
    for step in path.split("."):
        value = value.get(step) if isinstance(value, Mapping) else None
    return "" if value is None else str(value)


def field_matcher(selector: str | None, supported: frozenset[str]) -> Callable[[Mapping], bool]:
    """Field selectors: `=`, `==`, `!=` on the fields the resource supports."""
    terms: list[tuple[str, bool, str]] = []
    for part in _split(selector or ""):
        if not part.strip():
            if selector and selector.strip():
                raise SelectorError(f"empty term in field selector {selector!r}")
            continue
        match = re.match(r"^\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if not match:
            raise SelectorError(f"invalid field selector: {part.strip()!r}")
        field, op, value = match.groups()
        if field not in supported:
            raise SelectorError(f"field label not supported: {field}")
        terms.append((field, op != "!=", value))

    def matches(obj: Mapping) -> bool:
        return all((_field_value(obj, field) == value) == equal for field, equal, value in terms)

    return matches

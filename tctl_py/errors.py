"""The one exit-code enum and the one exception hierarchy of tctl.

Problems found in user input are values (`Problem`), collected and reported all together;
exceptions are for conditions that stop a command. The CLI entry point maps every `TctlError`
to its message and exit code in one place.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class ExitCode(enum.IntEnum):
    OK = 0
    DIFFERENCES = 1  # `diff` / `apply --dry-run` found something that would change
    USAGE = 2
    INVALID = 3  # YAML, schema or reference problems in the input
    CLUSTER = 4  # a cluster was unreachable or its API failed
    CONFLICT = 5  # an object tctl does not own is in the way
    NOT_READY = 6  # `status`: an exposed service cannot fail over (or be reached) as configured
    INTERNAL = 70

    @classmethod
    def worst(cls, codes: Iterable[int]) -> int:
        """The exit code that matters most when several steps of a command each gave one: a
        failed cluster, then a conflict, then differences found, else success."""
        found = {int(code) for code in codes}
        for code in (cls.CLUSTER, cls.CONFLICT, cls.DIFFERENCES):
            if int(code) in found:
                return int(code)
        return int(cls.OK)


class Severity(enum.StrEnum):
    """How grave a problem in the input, or a finding of the engine, is."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"  # worth knowing, nothing is wrong (findings only)


@dataclass(frozen=True, slots=True)
class Position:
    """Where something is in an input; line and column are 1-based."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if not self.line:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"


def shorten(text: str, limit: int = 60) -> str:
    """`text` cut to `limit` characters, so a value quoted in a message never floods the terminal."""
    return text if len(text) <= limit else f"{text[: limit - 3]}... ({len(text)} characters)"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input, positioned on the offending value."""

    position: Position
    message: str
    kind: str = ""
    name: str = ""
    path: str = ""
    hint: str = ""
    severity: Severity = Severity.ERROR

    @property
    def subject(self) -> str:
        return " ".join(shorten(part) for part in (self.kind, self.name) if part)

    def __str__(self) -> str:
        parts = [str(self.position)]
        if self.subject:
            parts.append(self.subject)
        if self.path:
            parts.append(self.path)
        parts.append(self.message)
        text = ": ".join(parts)
        if self.hint:
            text += f" (hint: {self.hint})"
        return text


class TctlError(Exception):
    """Base of every error tctl reports to the user; carries its exit code and an optional hint."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(TctlError):
    exit_code = ExitCode.USAGE


class InvalidInput(TctlError):
    """The input has problems; `problems` lists every one of them."""

    exit_code = ExitCode.INVALID

    def __init__(self, problems: list[Problem], message: str = "") -> None:
        super().__init__(message or f"{len(problems)} problem(s) in the input")
        self.problems = problems


class NotFound(TctlError):
    """A named object does not exist (in the store or a cluster)."""

    exit_code = ExitCode.INVALID


class StoreError(TctlError):
    """The store cannot be opened, read or written: a path to fix (--store), not a bug."""

    exit_code = ExitCode.USAGE


class ClusterError(TctlError):
    exit_code = ExitCode.CLUSTER


class ConflictError(TctlError):
    exit_code = ExitCode.CONFLICT

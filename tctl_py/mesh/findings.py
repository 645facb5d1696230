"""Finding codes: stable identifiers the CLI, docs and tests can rely on.

A finding is never fatal to the engine: it explains why something the user may expect was not
generated (or was generated in a degraded form). Each `Code` carries its severity; the CLI
decides exit codes from the codes, e.g. `CONFLICT_CODES` map to exit code 5.
"""

from __future__ import annotations

from .codes import Code, Severity
from .model import Finding

__all__ = ["CLUSTER_CODES", "CONFLICT_CODES", "Code", "Findings", "Severity"]


# An object tctl does not own is in the way (SPEC §6 exit code 5).
CONFLICT_CODES = frozenset({Code.DESTINATION_RULE_CONFLICT})
# A cluster could not be read (SPEC §6 exit code 4).
CLUSTER_CODES = frozenset({Code.CLUSTER_UNREACHABLE})


class Findings:
    """Collects findings; `sorted()` gives them de-duplicated in a deterministic order."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, ...], Finding] = {}

    def add(
        self,
        code: Code,
        cluster: str,
        subject: str,
        message: str,
        *,
        hint: str = "",
        source: str = "",
    ) -> None:
        finding = Finding(
            cluster=cluster, subject=subject, message=message, hint=hint, source=source, code=code
        )
        self._items.setdefault(finding.sort_key, finding)

    def sorted(self) -> list[Finding]:
        return [self._items[key] for key in sorted(self._items)]

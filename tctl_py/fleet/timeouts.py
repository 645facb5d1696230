"""How long tctl waits for API servers: each request, and optionally each cluster in all.

`--request-timeout` bounds one request, whatever else the cluster has to do: a large cluster
needs more requests (pages of lists, one write per object), never a longer wait per request.
`--cluster-timeout` is a separate, optional budget for everything tctl does with one cluster.
It is off by default: the work per cluster grows with the fleet, so any fixed default would
fail large clusters whose every request answers in time, and a hung server is already bounded
by the request timeout (times the retry policy's attempts).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

DEFAULT_REQUEST_TIMEOUT = 10.0  # seconds for one request (kubectl waits for ever by default)
# A live API server accepts a connection in milliseconds; a dead address never does. Within 3 s
# the kernel has resent a lost SYN once (after 1 s), which covers a dropped packet on a live
# path; waiting longer for a connection only makes one dead context slow down every command
# (measured in docs/fleet.md: 5 s made a command with one dead context take 7.0-7.8 s, 3 s 5.0-5.8 s).
MAX_CONNECT_TIMEOUT = 3.0
MIN_TIMEOUT = 0.05  # below this a request cannot even be sent


def connect_timeout(request_timeout: float) -> float:
    """Seconds to wait for the TCP (and TLS) connection of a request."""
    return min(request_timeout, MAX_CONNECT_TIMEOUT)


def seconds(value: float) -> str:
    """`10 s`, `0.5 s`, `12.3 s`: a duration for messages."""
    return f"{value:.3g} s"


@dataclass(frozen=True)
class Budget:
    """The time one cluster may take in all (`--cluster-timeout`): `total` seconds, ending at
    `deadline` (a `time.monotonic()` value)."""

    total: float
    deadline: float

    @classmethod
    def starting_now(cls, total: float) -> Budget:
        return cls(total, time.monotonic() + total)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def describe(self) -> str:
        return f"the {seconds(self.total)} allowed for this cluster (--cluster-timeout)"


class ClusterBudgets:
    """One `Budget` per cluster, its clock started by the cluster's first request, so reading
    the fleet and writing to it share it; `total=None` gives none (no per-cluster limit)."""

    def __init__(self, total: float | None) -> None:
        self.total = total
        self._budgets: dict[str, Budget] = {}
        self._lock = threading.Lock()

    def get(self, cluster: str) -> Budget | None:
        if self.total is None:
            return None
        with self._lock:
            if cluster not in self._budgets:
                self._budgets[cluster] = Budget.starting_now(self.total)
            return self._budgets[cluster]

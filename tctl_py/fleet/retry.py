"""Sending an idempotent request again when the API server or the network failed transiently."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tctl_py.errors import ClusterError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently an idempotent request is sent again.

    Attempt n (n >= 2) waits `backoff * 2**(n-2)` seconds, at most `max_backoff`, scaled by a
    random factor in [1 - jitter, 1]; a `Retry-After` the server sent is waited instead when it
    is longer, up to `max_retry_after`. The cluster's overall budget bounds all of it.
    """

    attempts: int = 3
    backoff: float = 0.5
    max_backoff: float = 4.0
    jitter: float = 0.5
    max_retry_after: float = 10.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        wait = min(self.max_backoff, self.backoff * (2 ** max(0, attempt - 1)))
        wait *= 1 - self.jitter * random.random()
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_retry_after))
        return max(0.0, wait)


NO_RETRY = RetryPolicy(attempts=1)


def with_retries(call: Callable[[], T], *, policy: RetryPolicy, deadline: float | None = None,
                 budget: float | None = None, sleep: Callable[[float], None] = time.sleep) -> T:
    """`call()`, again after a pause when it raises a ClusterError marked `retryable` (429, 5xx,
    no answer, a dropped connection), up to `policy.attempts` in all and never past `deadline`
    (a `time.monotonic()` value; `budget` is the seconds it stands for, for the message)."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return call()
        except ClusterError as error:
            if not getattr(error, "retryable", False) or attempt >= policy.attempts:
                if attempt > 1:
                    _annotate(error, f"(after {attempt} attempts)")
                raise
            wait = policy.delay(attempt, getattr(error, "retry_after", None))
            if deadline is not None and time.monotonic() + wait >= deadline:
                within = f" within {budget:g} s" if budget is not None else ""
                _annotate(error, f"(after {attempt} attempt(s); no time left for another{within})")
                raise
            sleep(wait)


def _annotate(error: ClusterError, note: str) -> None:
    error.message = f"{error.message} {note}"
    error.args = (error.message,)

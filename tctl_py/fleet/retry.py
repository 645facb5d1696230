"""Sending an idempotent request again when the API server or the network failed transiently."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tctl_py.errors import ClusterError
from tctl_py.fleet.timeouts import Budget, seconds

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently an idempotent request is sent again.

    Attempt n (n >= 2) waits `backoff * 2**(n-2)` seconds, at most `max_backoff`, scaled by a
    random factor in [1 - jitter, 1]; a `Retry-After` the server sent is waited instead when it
    is longer, up to `max_retry_after`. A cluster's budget, if it has one, bounds all of it.
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


def with_retries(
    call: Callable[[], T],
    *,
    policy: RetryPolicy,
    budget: Budget | None = None,
    cancel: threading.Event | None = None,
    sleep: Callable[[float], None] | None = None,
) -> T:
    """`call()`, again after a pause when it raises a ClusterError marked `retryable` (429, 5xx,
    no answer, a dropped connection), up to `policy.attempts` in all, never past the cluster's
    `budget`, and never once `cancel` is set (the pause ends early when it is).
    `sleep` replaces the pause (for tests)."""
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
            retry_after = getattr(error, "retry_after", None)
            wait = policy.delay(attempt, retry_after)
            if budget is not None and max(wait, retry_after or 0.0) >= budget.left():
                _annotate(error, f"(after {attempt} attempt(s); {_too_long(wait, retry_after, budget)})")
                raise
            pause = sleep or (cancel.wait if cancel is not None else time.sleep)
            pause(wait)
            if cancel is not None and cancel.is_set():
                _annotate(error, "(not tried again: interrupted)")
                raise


def _too_long(wait: float, retry_after: float | None, budget: Budget) -> str:
    left = seconds(max(0.0, budget.left()))
    if retry_after is not None and retry_after >= wait:  # retrying sooner would be refused again
        return (
            f"the server asked to retry after {seconds(retry_after)}, more than the {left} "
            f"left of {budget.describe()}"
        )
    return f"waiting {seconds(wait)} to try again would exceed the {left} left of {budget.describe()}"


def _annotate(error: ClusterError, note: str) -> None:
    error.message = f"{error.message} {note}"
    error.args = (error.message,)

"""Work on every cluster at once: a bounded thread pool where one failure never stops the others;
and within one cluster, a bounded number of items at once (`run_bounded`).

Shared by the live reader and the reconcile executor. Pure stdlib; nothing here knows about
Kubernetes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import TypeVar

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741 - an item

# Each worker mostly waits on one cluster's API server, so the pool is sized for fleets, not
# for CPUs: with 8, 20 clusters took three rounds.
DEFAULT_WORKERS = 32


def run_per_cluster(
    names: Sequence[str],
    work: Callable[[str], T],
    *,
    max_workers: int = DEFAULT_WORKERS,
    on_done: Callable[[str, T | BaseException], None] | None = None,
) -> dict[str, T | BaseException]:
    """`work(name)` for each cluster name, at most `max_workers` at a time.

    Returns `{name: result or the exception work raised}` in the order of `names` (duplicates
    once). An exception in one cluster's work is that cluster's result: it never stops or
    cancels the others. `on_done(name, result)` is called in the calling thread as each
    cluster finishes (for progress displays); an exception it raises, or one raised in the
    calling thread while waiting (KeyboardInterrupt), propagates at once, without waiting for the
    work still running.
    """
    ordered = list(dict.fromkeys(names))
    results: dict[str, T | BaseException] = {}
    if not ordered:
        return results
    workers = max(1, min(max_workers, len(ordered)))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tctl-cluster")
    try:
        futures: dict[Future[T], str] = {pool.submit(work, name): name for name in ordered}
        for future in as_completed(futures):
            name = futures[future]
            try:
                result: T | BaseException = future.result()
            except BaseException as exc:  # noqa: BLE001 - the cluster's outcome, reported by the caller
                result = exc
            results[name] = result
            if on_done is not None:
                on_done(name, result)
    except BaseException:
        # Interrupted (Ctrl-C) or on_done failed: stop waiting; work not started never starts,
        # and work in flight is abandoned rather than waited for.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return {name: results[name] for name in ordered}


def run_bounded(
    items: Sequence[I], work: Callable[[I], None], *, limit: int, proceed: Callable[[], bool] = lambda: True
) -> None:
    """`work(item)` for each item, at most `limit` at a time, started in the order of `items`.

    Before each item starts, `proceed()` is asked: once it is false no further item starts
    (those running finish), so a caller stops on a failure or a Ctrl-C by making it false.
    `work` records its own outcome; an exception it raises stops further items and is raised
    here once the items running have finished. With `limit` 1 or a single item, everything runs
    in the calling thread.
    """
    pending = iter(items)
    lock = threading.Lock()
    raised: list[BaseException] = []

    def worker() -> None:
        while True:
            with lock:
                if raised or not proceed():
                    return
                item = next(pending, _END)
            if item is _END:
                return
            try:
                work(item)  # type: ignore[arg-type]
            except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread below
                with lock:
                    raised.append(exc)
                return

    count = min(max(limit, 1), len(items))
    if count <= 1:
        worker()
    else:
        threads = [threading.Thread(target=worker, name="tctl-write", daemon=True) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if raised:
        raise raised[0]


_END = object()

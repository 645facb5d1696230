"""The per-cluster worker pool (no waiting for work in flight once the calling thread is
interrupted), and the bounded runner of one cluster's writes."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from tctl_py.fleet.parallel import run_bounded, run_per_cluster


def test_ctrl_c_in_the_calling_thread_abandons_work_in_flight_and_starts_no_more():
    """A hung request must not hold up the exit; clusters waiting for a worker never start."""
    release = threading.Event()
    started: list[str] = []

    def work(name: str) -> str:
        started.append(name)
        release.wait(30)
        return name

    main = threading.main_thread().ident
    threading.Timer(0.3, signal.pthread_kill, (main, signal.SIGINT)).start()  # Ctrl-C
    began = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            run_per_cluster(["east", "west", "later"], work, max_workers=2)
        assert time.monotonic() - began < 5
        assert sorted(started) == ["east", "west"]
    finally:
        release.set()
    time.sleep(0.1)
    assert "later" not in started  # it was queued: cancelled, never started


def test_bounded_items_start_in_order_at_most_limit_at_once_until_told_to_stop():
    running, most, started = [0], [0], []
    lock = threading.Lock()
    release = threading.Event()

    def work(item: int) -> None:
        with lock:
            started.append(item)
            running[0] += 1
            most[0] = max(most[0], running[0])
        release.wait(0.05)
        with lock:
            running[0] -= 1

    run_bounded(range(10), work, limit=3, proceed=lambda: len(started) < 7)
    assert most[0] == 3
    assert started[:3] == [0, 1, 2] and sorted(started) == list(range(7))  # none after the stop


def test_a_failed_item_stops_the_rest_and_is_raised_once_the_others_finish():
    done: list[int] = []

    def work(item: int) -> None:
        if item == 2:
            raise ValueError("broken")
        done.append(item)

    with pytest.raises(ValueError, match="broken"):
        run_bounded(list(range(10)), work, limit=1)
    assert done == [0, 1]

"""The per-cluster worker pool: no waiting for work in flight once the calling thread is interrupted."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from tctl_py.fleet.parallel import run_per_cluster


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

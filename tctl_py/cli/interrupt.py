"""Ctrl-C (SIGINT) and SIGTERM during one run of tctl, as a value the work is handed.

Before any write to a cluster has started, the first signal ends the command at once, as
Python's KeyboardInterrupt does: nothing was written, and reads in flight are abandoned. Once
writes started (`writes_started()`), the first SIGINT or any SIGTERM only sets `stop`: no new
write starts, writes in flight finish or time out (`--request-timeout`), and the command
reports what was and was not done, then exits 130. A second Ctrl-C exits at once.
A long-running command (`sync --watch`) calls `stops_cleanly()`: then a signal only sets `stop`
and the command, having finished its writes in flight, exits 0.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command ended by Ctrl-C


class Interrupt:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stop = threading.Event()  # what the workers are given: set once asked to stop
        self._stream = stream
        self._writing = False
        self.clean_stop = False

    def stops_cleanly(self) -> None:
        """A signal asks the command to stop (after its writes in flight): it then exits 0."""
        self._writing = True
        self.clean_stop = True

    def writes_started(self) -> None:
        """From now on the first signal stops new writes instead of ending the command."""
        self._writing = True

    @property
    def writing(self) -> bool:
        return self._writing

    @contextmanager
    def handling_signals(self) -> Iterator[Interrupt]:
        """Handle SIGINT and SIGTERM while in the block (the previous handlers are put back).
        Signals can only be handled in the main thread; elsewhere this does nothing."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {number: signal.signal(number, self._handle) for number in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    def _handle(self, number: int, _frame: object) -> None:
        if self.stop.is_set():
            if number == signal.SIGINT:  # the second Ctrl-C: the user will not wait
                self._say("interrupted again: quitting without waiting for writes in flight")
                exit_now(EXIT_INTERRUPTED)
            return  # another SIGTERM: already stopping
        self.stop.set()
        if not self._writing:
            raise KeyboardInterrupt
        name = "interrupted" if number == signal.SIGINT else "terminated (SIGTERM)"
        if self.clean_stop:
            self._say(f"{name}: stopping once the writes in flight are done")
            return
        self._say(
            f"{name}: starting no new writes; those in flight finish or time out "
            "(--request-timeout); press Ctrl-C again to quit at once"
        )

    def _say(self, text: str) -> None:
        stream = self._stream or sys.stderr
        try:
            stream.write(f"{text}\n")
            stream.flush()
        except RuntimeError:  # the signal came in the middle of a write to that very stream
            os.write(2, f"{text}\n".encode())


def exit_now(code: int) -> None:
    """End the process without waiting for worker threads (a request may hang in one), after
    flushing output and running exit handlers (tctl's key files are removed by one)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, RuntimeError):  # RuntimeError: called amid a write to it
            pass
    atexit._run_exitfuncs()
    os._exit(code)

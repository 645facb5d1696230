"""A second Ctrl-C ends tctl at once, whatever the main thread was doing when it came."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# As main() runs a command: both streams behind the redactor, writes started, and the main
# thread printing (the per-cluster report) when the signals come.
PRINTING_WHILE_WRITING = """
import sys
from tctl_py.cli.interrupt import Interrupt
from tctl_py.fleet.redaction import RedactingStream
sys.stdout, sys.stderr = RedactingStream(sys.stdout), RedactingStream(sys.stderr)
interrupt = Interrupt()
interrupt.writes_started()
with interrupt.handling_signals():
    print("ready", file=sys.stderr, flush=True)
    line = 0
    while True:
        print("cluster-1", line)
        print("cluster-2", line, file=sys.stderr)
        line += 1
"""


def test_a_second_ctrl_c_while_the_main_thread_prints_exits_at_once(tmp_path):
    # The handler once flushed the redacting stream whose lock the interrupted print held: the
    # process hung on every one of 20 tries.
    for attempt in range(3):
        errors = tmp_path / f"stderr-{attempt}"
        with errors.open("wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-c", PRINTING_WHILE_WRITING],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        try:
            deadline = time.monotonic() + 20
            while not errors.read_bytes().startswith(b"ready\n"):
                assert time.monotonic() < deadline and process.poll() is None, errors.read_text()
                time.sleep(0.02)
            process.send_signal(signal.SIGINT)
            time.sleep(0.1)
            process.send_signal(signal.SIGINT)
            code = process.wait(10)
        finally:
            process.kill()
            process.wait()
        said = errors.read_text()
        assert code == 130, said[-500:]
        assert "interrupted again: quitting without waiting for writes in flight" in said

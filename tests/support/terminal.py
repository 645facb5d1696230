"""Running tctl on a pseudo-terminal of a given size, as a person at a terminal would."""

from __future__ import annotations

import errno
import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import time

from tests.support.cli import ROOT, Ran


def run_on_terminal(
    args: list[str],
    *,
    columns: int,
    env: dict[str, str | None] | None = None,
    stderr_too: bool = False,
    timeout: float = 60,
) -> Ran:
    """`python -m tctl_py ARGS` with stdout on a pseudo-terminal `columns` wide (stderr on a pipe,
    or with `stderr_too` on the terminal as well); what the terminal received, with its CRLF line
    ends back to LF. `env` adds to this process's environment; a None value removes the variable."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    # the terminal's size must come from the terminal, not COLUMNS
    merged = {**os.environ, "COLUMNS": None, **(env or {})}
    environment = {name: value for name, value in merged.items() if value is not None}
    process = subprocess.Popen(
        [sys.executable, "-m", "tctl_py", *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower if stderr_too else subprocess.PIPE,
        env=environment,
        cwd=ROOT,
    )
    os.close(follower)
    received = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = os.read(leader, 65536)
        except OSError as error:  # EIO: every writer of the terminal has closed it
            if error.errno != errno.EIO:
                raise
            break
        if not chunk:
            break
        received += chunk
    os.close(leader)
    stderr = process.communicate(timeout=max(deadline - time.monotonic(), 1))[1] or b""
    return Ran(process.returncode, received.decode().replace("\r\n", "\n"), stderr.decode())

"""Issue 7, item 8: key material lives in memory (Linux), else in a private folder removed on
every exit path tctl can act on (normal exit, SIGTERM)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tctl_py.fleet.keyfiles import KeyFiles

ROOT = Path(__file__).resolve().parents[2]
KEY = b"-----BEGIN PRIVATE KEY-----\nbm90IGEgcmVhbCBrZXk=\n-----END PRIVATE KEY-----\n"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="memfd_create is Linux's")
def test_item8_in_memory_files_are_readable_by_path_and_never_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    files = KeyFiles()
    path = files.path_for(KEY)
    assert path.startswith("/proc/self/fd/") and os.path.isfile(path)
    assert Path(path).read_bytes() == KEY  # as OpenSSL opens it: by path, from the start
    assert files.path_for(KEY) == path  # one file per content
    assert list(tmp_path.iterdir()) == []
    files.close()
    assert not os.path.exists(path)


def test_item8_elsewhere_a_private_folder_holds_them_until_exit():
    files = KeyFiles(in_memory=False)
    path = Path(files.path_for(KEY))
    folder = path.parent
    assert path.read_bytes() == KEY
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and stat.S_IMODE(path.stat().st_mode) == 0o600
    files.close()
    assert not folder.exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="memfd_create is Linux's")
def test_item8_a_file_the_client_wrote_is_moved_into_memory():
    files = KeyFiles()
    written = Path(files.private_folder()) / "from-an-exec-plugin"
    written.write_bytes(KEY)
    path = files.adopt(str(written))
    assert path.startswith("/proc/self/fd/") and Path(path).read_bytes() == KEY
    assert not written.exists()
    files.close()


def test_item8_sigterm_removes_the_private_folder():
    # As tctl's main() ends on a SIGTERM that comes before any write (tctl_py/cli/interrupt.py).
    code = (
        "import time; from tctl_py.fleet.keyfiles import KeyFiles\n"
        "from tctl_py.cli.interrupt import Interrupt, exit_now\n"
        "with Interrupt().handling_signals():\n"
        "    try:\n"  # before the path is printed: the signal may come at once
        "        print(KeyFiles(in_memory=False).path_for(b'key'), flush=True)\n"
        "        time.sleep(60)\n"
        "    except KeyboardInterrupt:\n"
        "        exit_now(130)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    path = Path(process.stdout.readline().strip())
    assert path.exists()
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 130
    assert not path.parent.exists()

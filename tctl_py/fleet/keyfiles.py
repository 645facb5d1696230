"""Key material for TLS kept off shared disk. Pure standard library.

OpenSSL (and so the `kubernetes` client) reads a client key, client certificate and CA from
files. Left to itself, the client writes the kubeconfig's `client-key-data` (and certificate
data) to files in the system's temporary folder and removes them only when Python exits
normally: a SIGTERM or SIGKILL leaves the private key there. tctl gives it files of its own:

- on Linux, in-memory files (`memfd_create`), opened by path as `/proc/self/fd/N`: nothing is
  ever written to a disk, and the kernel frees them however the process ends;
- elsewhere (or if memfd is refused), files of mode 0600 in a private folder (mode 0700) made
  for this process and removed at exit; `cli/app.py:main` turns SIGTERM into an ordinary exit,
  so that holds for SIGTERM too (nothing can clean up after a SIGKILL there).

Files are shared by content: every client of one cluster uses the same ones.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import sys
import tempfile
import threading


class KeyFiles:
    """Files holding key material, by content, for as long as this process lives."""

    def __init__(self, *, in_memory: bool | None = None) -> None:
        self.in_memory = (
            sys.platform.startswith("linux") and hasattr(os, "memfd_create")
            if in_memory is None
            else in_memory
        )
        # Reentrant: close() runs at exit from a signal handler, in a main thread that may have
        # been interrupted while holding it.
        self._lock = threading.RLock()
        self._paths: dict[str, str] = {}  # sha256 of the content -> path
        self._fds: list[int] = []
        self._folder: str | None = None

    def path_for(self, content: bytes) -> str:
        """A path from which `content` can be read (the same path for the same content)."""
        digest = hashlib.sha256(content).hexdigest()
        with self._lock:
            path = self._paths.get(digest)
            if path is None:
                path = self._paths[digest] = self._write(content)
            return path

    def adopt(self, path: str) -> str:
        """A file the client wrote into `private_folder()`: moved into memory (when files live
        there) and removed from the disk; another path is returned unchanged."""
        folder = self._folder
        if not (self.in_memory and folder and os.path.dirname(os.path.abspath(path)) == folder):
            return path
        with open(path, "rb") as file:
            content = file.read()
        os.remove(path)
        return self.path_for(content)

    def private_folder(self) -> str:
        """This process's own folder (mode 0700), made on first use and removed at exit."""
        with self._lock:
            return self._private_folder()

    def _private_folder(self) -> str:  # with the lock held
        if self._folder is None:
            self._folder = tempfile.mkdtemp(prefix="tctl-keys-")  # mode 0700
            atexit.register(self.close)
        return self._folder

    def close(self) -> None:
        """Forget every file: close the in-memory ones, remove the private folder."""
        with self._lock:
            for fd in self._fds:
                os.close(fd)
            self._fds.clear()
            self._paths.clear()
            folder, self._folder = self._folder, None
        if folder:
            shutil.rmtree(folder, ignore_errors=True)

    def _write(self, content: bytes) -> str:
        if self.in_memory:
            try:
                fd = os.memfd_create("tctl-key")  # close-on-exec: no plugin inherits it
            except OSError:  # seccomp or an old kernel: fall back to the private folder
                self.in_memory = False
            else:
                self._fds.append(fd)
                with os.fdopen(fd, "wb", closefd=False) as file:
                    file.write(content)
                return f"/proc/self/fd/{fd}"
        fd, path = tempfile.mkstemp(dir=self._private_folder())  # mode 0600
        with os.fdopen(fd, "wb") as file:
            file.write(content)
        return path


KEY_FILES = KeyFiles()  # process-wide, like the client's own temporary files it replaces

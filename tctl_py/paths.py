"""Paths built from names tctl does not choose, for `tctl snapshot` and `tctl render`.

Cluster names are kubeconfig context names, which can hold anything: `/`, `..`, `@`, spaces
(an EKS context is an ARN, `arn:aws:eks:us-east-1:123:cluster/prod`). Both commands give a
cluster the same folder (`cluster_folder`), write only inside their output folder (`inside`)
and replace files atomically (`write_atomically`).
"""

from __future__ import annotations

import contextlib
import os
import string
import tempfile
from pathlib import Path

from tctl_py.errors import UsageError

# Kept as they are in a folder name: portable file-name characters, plus the '@', ':', '+', '='
# and ',' of common context names (`user@prod`, `gke_p_z_c`, `kind-kind`, ARNs).
_KEPT = frozenset(string.ascii_letters + string.digits + "-_.@:+=,")
MAX_FOLDER_NAME = 255  # bytes of one path component on ext4, XFS, APFS and NTFS


def cluster_folder(name: str) -> str:
    """The folder of cluster `name`: the name itself when it is made of kept characters only
    (`cluster-1`), else percent-encoded: every other character's UTF-8 bytes as `%XX`, and a
    leading '.' as `%2E`, so the folder is one path component, never hidden, `.` or `..`.

    Reversible (`urllib.parse.unquote(folder, errors="surrogatepass")`) and so collision-free:
    '%' is never kept, so an encoded name cannot equal a kept one.
    """
    if not name:
        raise UsageError(
            "a cluster has an empty name, which cannot be a folder name", hint="name the kubeconfig context"
        )
    folder = "".join(
        ch if ch in _KEPT and not (index == 0 and ch == ".") else _percent(ch)
        for index, ch in enumerate(name)
    )
    if len(folder) > MAX_FOLDER_NAME:
        raise UsageError(
            f'cluster name "{name}" is too long to be a folder name '
            f"({len(folder)} bytes once encoded, at most {MAX_FOLDER_NAME})",
            hint="rename the kubeconfig context",
        )
    return folder


def _percent(ch: str) -> str:
    # surrogatepass: a context name read from JSON can hold a lone surrogate
    return "".join(f"%{byte:02X}" for byte in ch.encode("utf-8", "surrogatepass"))


def inside(root: Path, relative: Path) -> Path:
    """`root / relative` with symbolic links resolved, refused (UsageError) when that is not
    inside `root` (itself resolved): a link in `root` must not lead tctl to write elsewhere."""
    target = (root / relative).resolve()
    if not target.is_relative_to(root):
        raise UsageError(
            f'"{root / relative}" leads outside "{root}" (to "{target}") through a symbolic link',
            hint=f'tctl writes only inside "{root}": remove the link',
        )
    return target


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step: a reader sees the old or the new file, never
    half of one. The temporary file is created exclusively (never through a planted link)
    and `path`, if it is a link, is replaced, not followed."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; snapshots and manifests hold no secrets
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise

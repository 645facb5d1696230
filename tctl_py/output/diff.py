"""Unified diffs of objects as YAML, stable byte for byte so pipelines can post them."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping

from tctl_py.output.render import to_yaml


def unified(before: dict | None, after: dict | None, label: str) -> str:
    """`diff -u`-style text between two versions of one object; "" when they are equal."""
    old = to_yaml(before).splitlines(keepends=True) if before is not None else []
    new = to_yaml(after).splitlines(keepends=True) if after is not None else []
    lines = difflib.unified_diff(
        old,
        new,
        fromfile=f"a/{label}" if before is not None else "/dev/null",
        tofile=f"b/{label}" if after is not None else "/dev/null",
    )
    return "".join(lines)


def colorize(diff: str) -> str:
    """ANSI colours for a terminal: additions green, removals red, hunk headers cyan."""
    out = []
    for line in diff.splitlines(keepends=True):
        if line.startswith(("+++", "---")):
            out.append(f"\x1b[1m{line.rstrip(chr(10))}\x1b[0m\n")
        elif line.startswith("+"):
            out.append(f"\x1b[32m{line.rstrip(chr(10))}\x1b[0m\n")
        elif line.startswith("-"):
            out.append(f"\x1b[31m{line.rstrip(chr(10))}\x1b[0m\n")
        elif line.startswith("@@"):
            out.append(f"\x1b[36m{line.rstrip(chr(10))}\x1b[0m\n")
        else:
            out.append(line)
    return "".join(out)


def wants_color(mode: str, stream, environ: Mapping[str, str]) -> bool:
    """Whether to colour what goes to `stream`: `always` and `never` say so; `auto` colours a
    terminal only, unless NO_COLOR is set to anything but "" (no-color.org) or TERM is dumb."""
    if mode != "auto":
        return mode == "always"
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    return stream.isatty()


def show(changes: list[tuple[str, dict | None, dict | None]], stream, *, color: bool = False) -> None:
    """Print (label, before, after) diffs: with the program named by TCTL_EXTERNAL_DIFF or
    KUBECTL_EXTERNAL_DIFF if set (as `kubectl diff` runs it, on two folders), else unified
    diffs, in colour if `color`."""
    if not changes:
        return
    program = os.environ.get("TCTL_EXTERNAL_DIFF") or os.environ.get("KUBECTL_EXTERNAL_DIFF")
    if program:
        external(program, changes, stream)
        return
    text = "".join(unified(before, after, label) for label, before, after in changes)
    stream.write(colorize(text) if color else text)


def external(program: str, changes: list[tuple[str, dict | None, dict | None]], stream) -> None:
    """Write LIVE and MERGED folders, one file per object, and run `program LIVE MERGED`.
    Its exit codes 0 and 1 mean same and different, as diff's do; anything else is an error."""
    import shlex
    import subprocess
    import tempfile
    from pathlib import Path

    from tctl_py.errors import UsageError

    with tempfile.TemporaryDirectory(prefix="tctl-diff-") as root:
        live, merged = Path(root, "LIVE"), Path(root, "MERGED")
        for label, before, after in changes:
            name = label.replace("/", ".")
            for folder, body in ((live, before), (merged, after)):
                folder.mkdir(exist_ok=True)
                if body is not None:
                    (folder / name).write_text(to_yaml(body), encoding="utf-8")
        stream.flush()
        try:
            done = subprocess.run([*shlex.split(program), str(live), str(merged)], stdout=subprocess.PIPE)
        except OSError as error:
            raise UsageError(
                f'cannot run the diff program "{program}": {error.strerror}',
                hint="check TCTL_EXTERNAL_DIFF / KUBECTL_EXTERNAL_DIFF",
            ) from None
        stream.write(done.stdout.decode("utf-8", "replace"))
        if done.returncode > 1:
            raise UsageError(f'the diff program "{program}" failed with exit code {done.returncode}')

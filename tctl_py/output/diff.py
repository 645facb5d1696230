"""Unified diffs of objects as YAML, stable byte for byte so pipelines can post them."""

from __future__ import annotations

import difflib

from tctl_py.output.render import to_yaml


def unified(before: dict | None, after: dict | None, label: str) -> str:
    """`diff -u`-style text between two versions of one object; "" when they are equal."""
    old = to_yaml(before).splitlines(keepends=True) if before is not None else []
    new = to_yaml(after).splitlines(keepends=True) if after is not None else []
    lines = difflib.unified_diff(old, new, fromfile=f"a/{label}" if before is not None else "/dev/null",
                                 tofile=f"b/{label}" if after is not None else "/dev/null")
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

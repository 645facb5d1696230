"""How much one input may hold: the cap on the bytes read from one file or stream.

Standard library only, so the CLI can set the cap from `--max-input-size` without loading YAML.
"""

from __future__ import annotations

import re

_UNITS = {"": 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}
_SIZE = re.compile(r"(\d+)(Ki|Mi|Gi)?")

DEFAULT_MAX_INPUT_SIZE = "64Mi"
OPTION = "--max-input-size"
ENV = "TCTL_MAX_INPUT_SIZE"


def parse_size(text: str) -> int:
    """Bytes in `text`: a whole number, optionally with a binary suffix (`512Ki`, `64Mi`, `1Gi`)."""
    match = _SIZE.fullmatch(text.strip())
    if match is None or int(match[1]) == 0:
        raise ValueError(f'"{text}" is not a size: write bytes (1048576) or 512Ki, 64Mi, 1Gi')
    return int(match[1]) * _UNITS[match[2] or ""]


def describe(size: int) -> str:
    """`size` bytes in the largest unit that divides it: 64Mi, 1536Ki, 1000."""
    for suffix in ("Gi", "Mi", "Ki"):
        if size % _UNITS[suffix] == 0:
            return f"{size // _UNITS[suffix]}{suffix}"
    return str(size)


# The cap in force: the CLI sets it once from --max-input-size; readers look it up when they read.
max_input_size = parse_size(DEFAULT_MAX_INPUT_SIZE)

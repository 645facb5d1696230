"""JSON as it goes to and comes from Kubernetes API servers: orjson, with the standard library
for what orjson refuses.

A no-op apply of 20 clusters decodes about 8 MB of lists, and a first apply encodes one body per
object: orjson does both in about a half and a fifteenth of `json`'s time. Bodies are compact
JSON, as kubectl sends its server-side applies; the API server reads an apply as YAML, of which
JSON is a subset as long as the characters YAML 1.1 does not allow unescaped, or reads as line
breaks, are escaped. What is printed for people, or hashed into names, keeps `json` and its
exact text.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

# DEL and the C1 controls (NEL among them), U+2028 and U+2029, U+FFFE and U+FFFF: orjson writes
# them as they are (JSON allows it); YAML refuses them, or folds a line break into a space.
_UNSAFE_IN_YAML = re.compile(rb"\x7f|\xc2[\x80-\x9f]|\xe2\x80[\xa8\xa9]|\xef\xbf[\xbe\xbf]")  # in UTF-8
_TO_ESCAPE = re.compile("[\x7f-\x9f\u2028\u2029\ufffe\uffff\ud800-\udfff]")  # and lone surrogates


def loads(data: bytes | str) -> Any:
    """The value of a JSON text. ValueError if it is not JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        # what json accepts and orjson does not (NaN, a lone surrogate), or the same error
        return json.loads(data)


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON of a value made of dicts, lists, strings, numbers, booleans and None."""
    try:
        body = orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits, a lone surrogate
        pass
    else:
        if not _UNSAFE_IN_YAML.search(body):
            return body
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return _TO_ESCAPE.sub(lambda found: f"\\u{ord(found.group()):04x}", text).encode()

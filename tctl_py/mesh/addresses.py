"""Gateway addresses (SPEC §4 rule 2): the one parser of IPs, host names and the
`xcp.tetrate.io/cluster-external-addresses` annotation, for the engine and for `validate`.

An IP is written the same way on every Python, by tctl rather than by `str(ipaddress...)`
(Python 3.13 changed how `str()` renders IPv4-mapped IPv6 addresses): IPv4 in dotted decimal;
IPv6 as RFC 5952 §4 text (lowercase hex, leading zeros dropped, the longest run of two or more
zero fields shown as `::`, the first such run on a tie) except IPv4-mapped addresses, which are
`::ffff:a.b.c.d` as RFC 5952 §5 recommends. That mapped form is also what Go's `netip` (istiod)
and `inet_ntop` (Envoy) print, and Python >= 3.13's `str()`. Every other IPv6 address, the
deprecated IPv4-compatible `::a.b.c.d` included, stays in hex (`::a00:1`), as Go's `netip` and
every Python print it. A zone (`fe80::1%eth0`) is kept verbatim after the address.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from .names import is_dns1123_subdomain

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_ip(text: str) -> IP | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def is_ip(address: str) -> bool:
    return parse_ip(address) is not None


def render_ip(ip: IP) -> str:
    if ip.version == 4:
        return ".".join(str(octet) for octet in ip.packed)
    zone = f"%{ip.scope_id}" if ip.scope_id else ""
    mapped = ip.ipv4_mapped
    if mapped is not None:
        return f"::ffff:{render_ip(mapped)}{zone}"
    fields = [int.from_bytes(ip.packed[i : i + 2], "big") for i in range(0, 16, 2)]
    start, length = _longest_zero_run(fields)
    if length < 2:
        return ":".join(f"{f:x}" for f in fields) + zone
    head = ":".join(f"{f:x}" for f in fields[:start])
    tail = ":".join(f"{f:x}" for f in fields[start + length :])
    return f"{head}::{tail}{zone}"


def _longest_zero_run(fields: list[int]) -> tuple[int, int]:
    """(start, length) of the first longest run of zero fields."""
    best = (0, 0)
    start = None
    for i, value in enumerate([*fields, 1]):  # the sentinel closes a run at the end
        if value == 0 and start is None:
            start = i
        elif value != 0 and start is not None:
            if i - start > best[1]:
                best = (start, i - start)
            start = None
    return best


def host_name(text: str) -> str:
    """`text` as a DNS name (lowercase, no trailing dot), or "" when it is not one. A single
    label (`gateway`) is refused: other clusters could not resolve it."""
    host = text.lower().rstrip(".")
    return host if "." in host and is_dns1123_subdomain(host) else ""


def in_rule_order(ips: set[IP], hosts: set[str]) -> tuple[str, ...]:
    """IPs first in numeric order (IPv4 before IPv6), then host names in lexical order."""
    ordered = sorted(ips, key=lambda ip: (ip.version, int(ip), getattr(ip, "scope_id", "") or ""))
    return tuple(render_ip(ip) for ip in ordered) + tuple(sorted(hosts))


def parse_annotation(value: str) -> tuple[tuple[str, ...], str]:
    """(addresses in rule-2 order, "") when `value` is comma-separated IPs or one DNS name (TSB's
    grammar of `xcp.tetrate.io/cluster-external-addresses`; spaces around items are allowed),
    else ((), why it is not)."""
    items = [item.strip() for item in value.split(",")]
    ips: set[IP] = set()
    hosts: set[str] = set()
    for item in items:
        if not item:
            return (), "an empty item" if len(items) > 1 else "no address"
        if (ip := parse_ip(item)) is not None:
            ips.add(ip)
        elif host := host_name(item):
            hosts.add(host)
        else:
            return (), f'"{item}" is neither an IP address nor a DNS name'
    if hosts and len(items) > 1:
        return (), "give comma-separated IP addresses or a single DNS name, not several names or a mix"
    return in_rule_order(ips, hosts), ""


def parse_reported(values: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(addresses in rule-2 order, values that are neither an IP nor a DNS name) of what the
    load balancer status and `spec.externalIPs` report; blank values are skipped."""
    ips: set[IP] = set()
    hosts: set[str] = set()
    invalid: set[str] = set()
    for value in (v.strip() for v in values):
        if not value:
            continue
        if (ip := parse_ip(value)) is not None:
            ips.add(ip)
        elif host := host_name(value):
            hosts.add(host)
        else:
            invalid.add(value)
    return in_rule_order(ips, hosts), tuple(sorted(invalid))

"""Service ports as Istio sees them (SPEC §4 rule 4).

ServiceEntry ports need a name (a DNS-1123 label) and a protocol Istio knows; endpoint `ports`
maps must use exactly those names. Only TCP Service ports are carried: Istio does not proxy UDP
or SCTP, and a Service may reuse one port number for TCP and UDP, which a ServiceEntry forbids.
The protocol follows Istio's protocol selection (`ConvertProtocol` in pkg/config/kube).
"""

from __future__ import annotations

from dataclasses import dataclass

from .names import is_dns1123_label
from .parsed import as_list, as_map, as_str

# Protocol names Istio knows (`protocol.Parse`, any case) -> the ServiceEntry protocol tctl
# writes. Istio's Redis and MySQL filters are off unless istiod enables them
# (PILOT_ENABLE_REDIS_FILTER, PILOT_ENABLE_MYSQL_FILTER), so those ports are plain TCP; gRPC-Web
# reaches a consumer's sidecar as HTTP/1.1 (the grpc-web filter runs where the Service is).
# Istio does not proxy UDP: such a port is not carried.
_ISTIO_PROTOCOLS = {
    "http": "HTTP",
    "http2": "HTTP2",
    "https": "HTTPS",
    "grpc": "GRPC",
    "grpc-web": "HTTP",
    "tcp": "TCP",
    "tls": "TLS",
    "mongo": "MONGO",
    "redis": "TCP",
    "mysql": "TCP",
    "udp": "UDP",
}
# Kubernetes' own appProtocol values (exact case), which Istio reads from appProtocol only.
_KUBERNETES_APP_PROTOCOLS = {
    "kubernetes.io/h2c": "HTTP2",
    "kubernetes.io/ws": "HTTP",
    "kubernetes.io/wss": "HTTPS",
}
_GRPC_WEB = "grpc-web"  # the one protocol name with a "-", matched before splitting


@dataclass(frozen=True)
class Port:
    name: str
    number: int
    protocol: str

    def as_dict(self) -> dict:
        return {"name": self.name, "number": self.number, "protocol": self.protocol}


def port_protocol(port: dict) -> str:
    """The protocol Istio gives a TCP Service port: from `appProtocol` when it is set, *instead
    of* the port name (no fallback to the name), else from the name. Either way the value's
    prefix before the first `-` counts (`http-web`, `grpc-api`); `grpc-web...` is gRPC-Web.
    TCP when Istio knows no such protocol (it would sniff; a ServiceEntry port needs one)."""
    app = port.get("appProtocol")
    if isinstance(app, str) and app in _KUBERNETES_APP_PROTOCOLS:
        return _KUBERNETES_APP_PROTOCOLS[app]
    value = app if isinstance(app, str) else as_str(port.get("name"))
    if value[: len(_GRPC_WEB)].lower() == _GRPC_WEB:
        return _ISTIO_PROTOCOLS[_GRPC_WEB]
    return _ISTIO_PROTOCOLS.get(value.split("-", 1)[0].lower(), "TCP")


def _tcp_ports(service: dict) -> tuple[list[dict], list[dict]]:
    """(TCP ports with a valid number that Istio does not take for UDP, the other ports)."""
    tcp, other = [], []
    for port in as_list(as_map(service.get("spec")).get("ports")):
        port = as_map(port)
        number = port.get("port")
        proto = (as_str(port.get("protocol")) or "TCP").upper()
        valid = isinstance(number, int) and not isinstance(number, bool) and 0 < number < 65536
        if proto == "TCP" and valid and port_protocol(port) != "UDP":
            tcp.append(port)
        else:
            other.append(port)
    return tcp, other


def service_entry_ports(service: dict) -> tuple[tuple[Port, ...], tuple[str, ...]]:
    """(ports for a ServiceEntry, descriptions of skipped ports).

    A port keeps its own name when it has a valid one, else gets `<protocol>-<number>`
    (lowercase protocol), made unique with a numeric suffix in the rare case of a clash.
    """
    tcp, other = _tcp_ports(service)
    skipped = [_describe(p) for p in other]
    ports: list[Port] = []
    used: set[str] = set()
    numbers: set[int] = set()
    for port in tcp:
        number = port["port"]
        if number in numbers:
            skipped.append(_describe(port))
            continue
        protocol = port_protocol(port)
        name = as_str(port.get("name"))
        if not is_dns1123_label(name) or name in used:
            name = base = f"{protocol.lower()}-{number}"
            suffix = 2
            while name in used:
                name, suffix = f"{base}-{suffix}", suffix + 1
        used.add(name)
        numbers.add(number)
        ports.append(Port(name, number, protocol))
    return tuple(ports), tuple(skipped)


def workload_entry_port_names(service: dict) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(names of the local Service's TCP ports, descriptions of unnamed TCP ports).

    Istio maps a WorkloadEntry's `ports` onto a Kubernetes Service by port *name*; an unnamed
    port (allowed for single-port Services) cannot be redirected to 15443. Non-TCP ports are
    left out silently here: they are reported where the Service is exposed.
    """
    tcp, _ = _tcp_ports(service)
    names: list[str] = []
    unmapped: list[str] = []
    for port in tcp:
        name = as_str(port.get("name"))
        if is_dns1123_label(name) and name not in names:
            names.append(name)
        else:
            unmapped.append(_describe(port))
    return tuple(names), tuple(unmapped)


def _describe(port: dict) -> str:
    name = as_str(port.get("name"))
    proto = as_str(port.get("protocol")) or "TCP"
    number = port.get("port")
    return f"{number}/{proto}" + (f" ({name})" if name else " (unnamed)")

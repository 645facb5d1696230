"""Gateway addresses are written the same way on every supported Python (issue 7 item 14).

Python 3.13 changed `str()` of IPv4-mapped IPv6 addresses (`::ffff:a00:1` became
`::ffff:10.0.0.1`); tctl writes addresses itself. The explicit expected strings are in
test_mesh_rules.py; here: the rendering against `ipaddress` on this Python, and the engine's
output on every other Python >= 3.11 found on the machine.
"""

from __future__ import annotations

import glob
import ipaddress
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tctl_py.mesh.addresses import parse_annotation, render_ip

ROOT = Path(__file__).parents[2]
# Read at import: the tests run with HOME pointing at a temporary folder.
PYENV_ROOT = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")

ipv6 = st.builds(
    lambda value, zone: ipaddress.IPv6Address(f"{ipaddress.IPv6Address(value).exploded}{zone}"),
    st.one_of(
        st.integers(0, 2**128 - 1),
        st.integers(0, 2**32 - 1).map(lambda v4: 0xFFFF_0000_0000 | v4),  # IPv4-mapped
        st.integers(0, 2**32 - 1),  # IPv4-compatible, ::, ::1
        st.lists(st.sampled_from([0, 0, 0, 1, 0xDB8, 0xFFFF]), min_size=8, max_size=8).map(
            lambda fields: int.from_bytes(b"".join(f.to_bytes(2, "big") for f in fields), "big")
        ),
    ),
    st.sampled_from(["", "", "%eth0", "%2"]),
)


@settings(max_examples=500, deadline=None)
@given(ipv6)
def test_ipv6_rendering_matches_rfc5952_and_parses_back(ip):
    """`str()` of this Python for every address but IPv4-mapped ones, which are `::ffff:a.b.c.d`."""
    text = render_ip(ip)
    zone = f"%{ip.scope_id}" if ip.scope_id else ""
    if ip.ipv4_mapped is not None:
        assert text == f"::ffff:{ip.ipv4_mapped}{zone}"
    else:
        assert text == str(ip)
    assert ipaddress.ip_address(text) == ip
    assert parse_annotation(text) == ((text,), "")


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_ipv4_rendering_is_dotted_decimal(value):
    ip = ipaddress.IPv4Address(value)
    assert render_ip(ip) == str(ip) == ".".join(str(b) for b in value.to_bytes(4, "big"))


# The engine's output for gateways with every kind of IPv6 address, as JSON.
ENGINE_OUTPUT = r"""
import json
from tctl_py.mesh import ClusterState, MeshConfig, compute

ips = ["::ffff:10.0.0.1", "::10.0.0.2", "fe80::1%eth0", "2001:0db8:0:0:1:0:0:1", "::ffff:0:10.0.0.3", "10.0.0.4"]
service = {"metadata": {"name": "details", "namespace": "bookinfo", "labels": {"app": "details"}},
           "spec": {"selector": {"app": "details"}, "ports": [{"name": "http", "port": 9080}]}}
gateway = {"metadata": {"name": "ew", "namespace": "bookinfo",
                        "annotations": {"xcp.tetrate.io/cluster-external-addresses": "::ffff:192.168.0.1,::ffff:9.9.9.9"}},
           "spec": {"selector": {"app": "ew"}}, "status": {"loadBalancer": {"ingress": [{"ip": "1.1.1.1"}]}}}
gateway_2 = {"metadata": {"name": "ew", "namespace": "bookinfo"}, "spec": {"selector": {"app": "ew"}},
             "status": {"loadBalancer": {"ingress": [{"ip": ip} for ip in ips]}}}
config = MeshConfig(
    workspaces=({"metadata": {"name": "w", "tenant": "t", "organization": "o"},
                 "spec": {"namespaceSelector": {"names": ["*/bookinfo"]}}},),
    settings=({"metadata": {"name": "s", "workspace": "w", "tenant": "t", "organization": "o"},
               "spec": {"defaultEastWestGatewaySettings": [
                   {"workloadSelector": {"namespace": "bookinfo", "labels": {"app": "ew"}}}]}},),
)
fleet = [ClusterState("c1", services=(service, gateway)), ClusterState("c2", services=(service, gateway_2)),
         ClusterState("c3")]
result = compute(config, fleet)
print(json.dumps({"objects": [[o.cluster, o.body] for o in result.objects],
                  "gateways": [[g.cluster, list(g.addresses)] for g in result.gateways]}))
"""


def other_pythons() -> list[str]:
    """Interpreters >= 3.11 other than this one: on PATH, or installed by pyenv."""
    found = [shutil.which(f"python3.{minor}") for minor in range(11, 16)]
    found += glob.glob(str(PYENV_ROOT / "versions" / "3.1[1-9]*" / "bin" / "python"))
    versions: dict[str, str] = {}
    for path in filter(None, found):
        done = subprocess.run(
            [path, "-c", "import sys; print(sys.version_info[:3])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        version = done.stdout.strip()
        if done.returncode == 0 and version != str(sys.version_info[:3]):
            versions.setdefault(version, path)
    return [versions[v] for v in sorted(versions)]


def engine_output(python: str) -> str:
    done = subprocess.run(
        [python, "-c", ENGINE_OUTPUT],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_engine_output_is_byte_identical_on_every_python_found():
    pythons = other_pythons()
    if not pythons:
        pytest.skip("no other Python >= 3.11 on this machine")
    here = engine_output(sys.executable)
    assert "::ffff:10.0.0.1" in here and "::ffff:192.168.0.1" in here and "::a00:2" in here
    assert json.loads(here)["gateways"][0][1] == ["::ffff:9.9.9.9", "::ffff:192.168.0.1"]
    for python in pythons:
        assert engine_output(python) == here, python

"""Every finding code (issue 12): a stable `TCTL` + 4 digits code, a severity, an entry in
docs/findings.md, and a scenario in which the engine emits it."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tctl_py.mesh import MeshResult
from tctl_py.mesh.findings import Code, Severity
from tests.unit.test_mesh_rules import (
    bookinfo,
    cluster_obj,
    entry,
    gateway_service,
    run,
    service,
    setting,
    state,
    workspace,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "findings.md"
TWO = [{"name": "http", "port": 9080, "protocol": "TCP"}, {"name": "grpc", "port": 9090, "protocol": "TCP"}]


def _apps(details: dict | None) -> list[dict]:
    return [details or service("details"), *bookinfo()[1:]]


def _pair(gw1=None, gw2=None, details1=None, details2=None, extra1=(), drs2=(), **kwargs) -> MeshResult:
    """cluster-1 and cluster-2 run bookinfo behind East-West gateways with addresses."""
    return run(
        [
            state("cluster-1", *_apps(details1), gw1 or gateway_service(ips=["10.1.0.1"]), *extra1),
            state("cluster-2", *_apps(details2), gw2 or gateway_service(ips=["10.2.0.1"]), drs=drs2),
        ],
        **kwargs,
    )


UDP = {"name": "dns", "port": 53, "protocol": "UDP"}
USER_DR = {"metadata": {"name": "mine", "namespace": "bookinfo"}, "spec": {"host": "details"}}

SCENARIOS: dict[Code, Callable[[], MeshResult]] = {
    Code.CLUSTER_UNREACHABLE: lambda: run([state("cluster-1", reachable=False)]),
    Code.CONFIG_IGNORED: lambda: _pair(settings=[setting(), setting(name="second")]),
    Code.METADATA_SKIPPED: lambda: _pair(workspaces=[workspace(labels={"bad key!": "x"})]),
    Code.NAMESPACE_OVERLAP: lambda: _pair(workspaces=[workspace(), workspace("cluster-1/*", name="other")]),
    Code.GATEWAY_PENDING: lambda: _pair(gw2=gateway_service()),
    Code.GATEWAY_MISSING: lambda: run(
        [state("cluster-1", *bookinfo(), namespaces=["bookinfo"]), state("cluster-2")]
    ),
    Code.GATEWAY_AMBIGUOUS: lambda: _pair(extra1=[gateway_service(ips=["10.1.0.9"], name="ew-b")]),
    Code.GATEWAY_OUTSIDE_WORKSPACE: lambda: _pair(
        gw1=gateway_service(ips=["10.1.0.1"], namespace="istio-system"),
        settings=[setting(entry("istio-system"))],
    ),
    Code.GATEWAY_HOSTNAME: lambda: _pair(gw2=gateway_service(hostnames=["ew.example.com"])),
    Code.GATEWAY_INVALID_ADDRESS: lambda: _pair(gw2=gateway_service(ips=["10.2.0.1"], hostnames=["-bad-"])),
    Code.GATEWAY_ANNOTATION_INVALID: lambda: _pair(gw2=gateway_service(annotation="not_an_ip,x")),
    Code.GATEWAY_EXPOSES_NOTHING: lambda: run(
        [
            state("cluster-1", *bookinfo(), gateway_service(ips=["10.1.0.1"])),
            state("cluster-2", gateway_service(ips=["10.2.0.1"])),
        ]
    ),
    Code.SELECTOR_MATCHES_NOTHING: lambda: _pair(
        settings=[setting(entry(exposed=[{"serviceLabels": {"app": "nothing"}}]))]
    ),
    Code.PORT_CONFLICT: lambda: _pair(details2=service("details", ports=TWO)),
    Code.PORT_UNSUPPORTED: lambda: _pair(details1=service("details", ports=[UDP, *TWO])),
    Code.SERVICE_NOT_EXPOSED: lambda: _pair(details1=service("details", ports=[UDP])),
    Code.SERVICE_MULTIPLE_WORKSPACES: lambda: _pair(
        workspaces=[workspace("cluster-1/bookinfo"), workspace("cluster-2/bookinfo", name="other")],
        settings=[setting(), setting(workspace="other", name="other-settings")],
    ),
    Code.NO_FAILOVER: lambda: _pair(
        workspaces=[workspace("cluster-1/bookinfo"), workspace("cluster-2/bookinfo", name="other")],
        settings=[setting(), setting(workspace="other", name="other-settings")],
    ),
    Code.FAILOVER_UNSUPPORTED: lambda: _pair(details2=service("details", selector={})),
    Code.SHARED_NETWORK: lambda: _pair(
        clusters=[cluster_obj("cluster-1", network="flat"), cluster_obj("cluster-2", network="flat")]
    ),
    Code.DESTINATION_RULE_CONFLICT: lambda: _pair(drs2=[USER_DR]),
}


def documented() -> dict[str, str]:
    """`## TCTL0201 gateway-pending` headings of docs/findings.md: code -> name."""
    return dict(re.findall(r"^## (TCTL\d{4}) (\S+)$", DOCS.read_text(encoding="utf-8"), flags=re.M))


def test_codes_are_tctl_and_four_digits_unique_with_a_name_and_severity():
    assert len({c.value for c in Code}) == len({c.slug for c in Code}) == len(Code)
    for code in Code:
        assert re.fullmatch(r"TCTL\d{4}", code.value) and re.fullmatch(r"[a-z][a-z-]+", code.slug)
        assert isinstance(code.severity, Severity)


def test_every_code_has_its_docs_entry_and_the_docs_no_other():
    assert documented() == {code.value: code.slug for code in Code}
    table = DOCS.read_text(encoding="utf-8")
    for code in Code:  # the summary table agrees on the severity
        assert f"| {code.slug} | {code.severity} |" in table


@pytest.mark.parametrize("code", list(Code), ids=lambda c: f"{c.value}-{c.slug}")
def test_every_code_is_emitted_by_a_scenario(code):
    assert code in SCENARIOS, f"no scenario emits {code.value} ({code.slug})"
    assert code in [f.code for f in SCENARIOS[code]().findings]

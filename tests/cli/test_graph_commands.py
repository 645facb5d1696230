"""`tctl graph`: Graphviz's `dot` accepts the DOT output, the Mermaid output is a well-formed
flowchart, and both hold every cluster, gateway and exposed service of the scenario and no others."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.cli.test_fleet_commands import C1_ADDRESSES, C2_ADDRESSES, CONFIG, FLEET
from tests.cli.test_status_commands import edit_gateway

CLUSTERS = ["cluster-1", "cluster-2", "cluster-3"]
GATEWAYS = {("cluster-1", "bookinfo/eastwest-gateway"), ("cluster-2", "bookinfo/eastwest-gateway")}
SERVICES = {(c, s) for c in CLUSTERS for s in ("details.bookinfo", "reviews.bookinfo")}

# The Mermaid flowchart grammar tctl writes, line by line.
ID = r"[a-z]\d+"
LABEL = r'"[^"]*"'
MERMAID = {
    "subgraph": re.compile(rf"^  subgraph (?P<id>{ID})\[(?P<label>{LABEL})\]$"),
    "end": re.compile(r"^  end$"),
    "node": re.compile(rf"^    (?P<id>{ID})(?:\{{\{{(?P<gw>{LABEL})\}}\}}|\(\[(?P<svc>{LABEL})\]\))$"),
    "edge": re.compile(
        rf"^  (?P<source>{ID}) (?:-- (?P<solid>[\w ]+) -->|-\. (?P<dashed>[\w :]+) \.->) (?P<target>{ID})$"
    ),
    "classDef": re.compile(r"^  classDef \w+ [\w:#,-]+$"),
    "class": re.compile(rf"^  class {ID}(?:,{ID})* \w+$"),
    "linkStyle": re.compile(r"^  linkStyle (?P<edges>\d+(?:,\d+)*) [\w:#,-]+$"),
}


def parse_mermaid(text: str) -> dict:
    """Clusters, gateways (cluster, first line), services (cluster, first line) and edges of a
    flowchart, failing on any line outside the grammar."""
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    found: dict = {"clusters": [], "gateways": set(), "services": set(), "edges": [], "styled": []}
    ids: dict[str, tuple[str, str]] = {}
    box = None
    for line in lines[1:]:
        kind, match = next(((k, m) for k, p in MERMAID.items() if (m := p.match(line))), (None, None))
        assert match is not None, f"not a flowchart line: {line!r}"
        if kind == "subgraph":
            assert box is None, "nested subgraph"
            box = match["label"].strip('"')
            found["clusters"].append(box)
        elif kind == "end":
            assert box is not None
            box = None
        elif kind == "node":
            assert box is not None and match["id"] not in ids
            label = (match["gw"] or match["svc"]).strip('"').split("<br/>")
            entry = (box, label[0])
            found["gateways" if match["gw"] else "services"].add(entry)
            ids[match["id"]] = entry
        elif kind == "edge":
            assert match["source"] in ids and match["target"] in ids, line
            found["edges"].append(
                (ids[match["source"]], ids[match["target"]], match["solid"] or match["dashed"])
            )
        elif kind == "linkStyle":
            found["styled"] += [int(i) for i in match["edges"].split(",")]
    assert box is None, "unclosed subgraph"
    assert all(i < len(found["edges"]) for i in found["styled"])
    return found


def parse_dot(text: str) -> dict:
    """Run `dot` on it (it must accept it), and read the boxes and nodes back from its labels."""
    done = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "<svg" in done.stdout, done.stderr
    found: dict = {"clusters": [], "gateways": set(), "services": set()}
    box = None
    for line in text.splitlines():
        if m := re.match(r'^    label="([^"]*)"; style=', line):
            box = m[1]
            found["clusters"].append(box)
        elif m := re.match(r'^    \w+ \[label="([^"\\]*)\\n[^"]*", shape=(\w+)', line):
            found["gateways" if m[2] == "hexagon" else "services"].add((box, m[1]))
    return found


@pytest.fixture()
def tctl(main_run):
    assert main_run("apply", "--no-sync", "-f", str(CONFIG)).exit_code == 0

    def run(*args: str, fleet=FLEET):
        return main_run("--fleet", str(fleet), *args)

    return run


def test_dot_is_accepted_by_graphviz_and_holds_the_scenario_exactly(tctl):
    ran = tctl("graph", "-o", "dot")
    assert ran.exit_code == 0, ran.stderr
    found = parse_dot(ran.stdout)
    assert found["clusters"] == CLUSTERS
    assert found["gateways"] == GATEWAYS and found["services"] == SERVICES
    assert ", ".join(C1_ADDRESSES) in ran.stdout and ", ".join(C2_ADDRESSES) in ran.stdout


def test_mermaid_is_a_flowchart_holding_the_scenario_exactly(tctl):
    ran = tctl("graph")
    assert ran.exit_code == 0, ran.stderr
    found = parse_mermaid(ran.stdout)
    assert found["clusters"] == CLUSTERS
    assert found["gateways"] == GATEWAYS and found["services"] == SERVICES
    edges = {(a, b, label) for a, b, label in found["edges"]}
    assert (("cluster-1", "details.bookinfo"), ("cluster-3", "details.bookinfo"), "ServiceEntry") in edges
    assert (("cluster-2", "details.bookinfo"), ("cluster-1", "details.bookinfo"), "failover") in edges
    assert len(edges) == len(found["edges"]) == 8 and not found["styled"]


def test_unready_paths_and_pending_gateways_are_marked(tctl, tmp_path):
    fleet = tmp_path / "fleet"
    shutil.copytree(FLEET, fleet)
    edit_gateway(fleet, "cluster-2", lambda gw: gw.pop("status"))
    found = parse_mermaid(tctl("graph", fleet=fleet).stdout)
    assert ("cluster-2", "bookinfo/eastwest-gateway") in found["gateways"]
    unready = [found["edges"][i] for i in found["styled"]]
    assert unready == [
        (("cluster-1", svc), ("cluster-2", svc), "failover: not ready")
        for svc in ("details.bookinfo", "reviews.bookinfo")
    ]
    dot = tctl("graph", "-o", "dot", fleet=fleet).stdout
    parse_dot(dot)
    assert "pending: no address" in dot and "color=red" in dot


def test_one_cluster_and_one_service(tctl):
    found = parse_mermaid(tctl("graph", "--cluster", "cluster-3", "--service", "details.bookinfo").stdout)
    assert found["services"] == {(c, "details.bookinfo") for c in CLUSTERS}
    assert {b for _, b, _ in found["edges"]} == {("cluster-3", "details.bookinfo")}
    assert found["gateways"] == set()


def test_svg_through_graphviz(tctl):
    ran = tctl("graph", "-o", "svg")
    assert ran.exit_code == 0, ran.stderr
    assert ran.stdout.lstrip().startswith("<?xml") and "details.bookinfo" in ran.stdout


def test_svg_without_dot_says_what_to_install(proc, main_run, tmp_path):
    assert main_run("apply", "--no-sync", "-f", str(CONFIG)).exit_code == 0
    ran = proc("--fleet", str(FLEET), "graph", "-o", "svg", env={"PATH": str(tmp_path)})
    assert ran.exit_code == 2
    assert "dot program" in ran.stderr and "Traceback" not in ran.stderr


def test_the_pictures_in_the_docs_are_the_examples(tctl):
    """docs/images/bookinfo.mmd (and the copy in docs/graph.md) is what `make demo` draws."""
    docs = FLEET.parents[2] / "docs"
    drawn = tctl("graph").stdout
    assert (docs / "images" / "bookinfo.mmd").read_text() == drawn
    assert f"```mermaid\n{drawn}```" in (docs / "graph.md").read_text()
    assert "<svg" in (docs / "images" / "bookinfo.svg").read_text()

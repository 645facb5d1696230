"""`get -o yaml|json|name` and `render` write cluster by cluster: the same bytes as printing every
chosen object at once, as tctl did before it streamed, on the example's fleet and on a larger
generated one (clusters whose names do not sort as they were numbered, so order matters)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tctl_py.cli import meshview
from tctl_py.config import kinds, objects
from tctl_py.fleet import read_snapshot
from tctl_py.mesh import compute
from tctl_py.output.manifests import relative_path
from tctl_py.output.render import as_list, to_yaml
from tctl_py.store import Store

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "bookinfo"
CONFIG = EXAMPLE / "config"

# (kind, selection, name): the clusters a selection shows are worked out from the fleet
SELECTIONS = [
    ("se", ["-A"], None),
    ("we", ["-A"], None),
    ("dr", ["-A"], None),
    ("gw", ["-A"], None),
    ("se", ["--cluster", "cluster-3"], None),
    ("we", ["--cluster", "cluster-2"], None),
    ("se", ["-A", "-n", "xcp-multicluster"], None),
    ("we", ["-A", "-n", "bookinfo"], None),
    ("dr", ["--cluster", "cluster-2", "-n", "bookinfo"], None),
    ("se", ["-A"], "details.bookinfo"),  # one name in several clusters: a List
    ("se", ["--cluster", "cluster-3"], "details.bookinfo"),  # one object: printed alone
]


@pytest.fixture()
def example_fleet(main_run) -> Path:
    ran = main_run("apply", "--no-sync", "-f", str(CONFIG))
    assert ran.exit_code == 0, ran.stderr
    return EXAMPLE / "fleet"


@pytest.fixture()
def generated_fleet(main_run, tmp_path) -> Path:
    """Eleven clusters, copies of the example's three in turn, each gateway with its own 1-3
    addresses; the example's configuration without Cluster objects, so every folder is a cluster."""
    fleet = tmp_path / "fleet"
    for n in range(1, 12):
        folder = fleet / f"cluster-{n}"
        shutil.copytree(EXAMPLE / "fleet" / f"cluster-{(n - 1) % 3 + 1}", folder)
        services = yaml.safe_load((folder / "services.yaml").read_text())
        for item in services["items"]:
            if item["metadata"]["name"] == "eastwest-gateway":
                item["metadata"].pop("annotations", None)
                item["status"] = {
                    "loadBalancer": {"ingress": [{"ip": f"203.0.113.{10 * n + k}"} for k in range(1 + n % 3)]}
                }
        (folder / "services.yaml").write_text(yaml.safe_dump(services, sort_keys=False))
    for path in (CONFIG / "organization.yaml", CONFIG / "workspace.yaml", CONFIG / "bookinfo-settings.yaml"):
        ran = main_run("apply", "--no-sync", "-f", str(path))
        assert ran.exit_code == 0, ran.stderr
    return fleet


def engine_objects(store: Path, fleet: Path) -> tuple[list, list[str]]:
    """Every generated object of the fleet, in the engine's order, and the fleet's clusters."""
    with Store(store) as opened:
        config = meshview.mesh_config(opened)
    states = read_snapshot(fleet)
    declared = {c["metadata"]["name"] for c in config.clusters}
    states = [s for s in states if not declared or s.name in declared]
    return compute(config, states).objects, [s.name for s in states]


def all_at_once(generated: list, kind: str, clusters: list[str], namespace, name, output: str) -> str:
    """What tctl printed before streaming: the chosen objects filtered from the whole result,
    dumped as one document (or one `-o name` line each)."""
    resolved = kinds.resolve(kind)
    chosen = [
        o
        for o in generated
        if o.kind == resolved.kind
        and o.cluster in clusters
        and namespace in (None, o.namespace)
        and name in (None, o.name)
    ]
    assert chosen, "a selection that shows nothing compares nothing"
    if output == "name":
        lead = [f"{o.cluster} " if len(clusters) > 1 else "" for o in chosen]
        return "".join(
            f"{lead}{objects.label(resolved, o.name)}\n" for lead, o in zip(lead, chosen, strict=True)
        )
    bodies = [o.body for o in chosen]
    document = bodies[0] if name and len(bodies) == 1 else as_list(bodies)
    if output == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return to_yaml(document)


@pytest.mark.parametrize("fleet_name", ["example_fleet", "generated_fleet"])
@pytest.mark.parametrize("output", ["yaml", "json", "name"])
def test_streamed_output_is_the_whole_output_byte_for_byte(request, main_run, store, fleet_name, output):
    fleet = request.getfixturevalue(fleet_name)
    generated, every = engine_objects(store, fleet)
    for kind, selection, name in SELECTIONS:
        shown = every if "-A" in selection else [selection[selection.index("--cluster") + 1]]
        namespace = selection[selection.index("-n") + 1] if "-n" in selection else None
        ran = main_run(
            "--fleet", str(fleet), "get", kind, *([name] if name else []), *selection, "-o", output
        )
        assert ran.exit_code == 0, (kind, selection, ran.stderr)
        assert ran.stdout == all_at_once(generated, kind, shown, namespace, name, output), (kind, selection)


@pytest.mark.parametrize("fleet_name", ["example_fleet", "generated_fleet"])
def test_render_writes_every_object_as_rendering_them_all_at_once(
    request, main_run, store, tmp_path, fleet_name
):
    fleet = request.getfixturevalue(fleet_name)
    generated, _ = engine_objects(store, fleet)
    out = tmp_path / "out"
    ran = main_run("--fleet", str(fleet), "render", "--out", str(out))
    assert ran.exit_code == 0, ran.stderr
    expected = {
        relative_path(o.cluster, plural(o.body), o.namespace, o.name): to_yaml(o.body) for o in generated
    }
    written = {p.relative_to(out): p.read_text(encoding="utf-8") for p in out.rglob("*.yaml")}
    assert written == expected


def plural(body: dict) -> str:
    """The kind's folder: its plural, `namespaces` for the Namespaces tctl creates."""
    kind = kinds.lookup(body["apiVersion"], body["kind"])
    return kind.plural if kind else {"Namespace": "namespaces"}[body["kind"]]

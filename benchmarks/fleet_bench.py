"""List the ServiceEntries tctl generates for a 50-cluster snapshot fleet, next to a libyaml floor.

Generates a snapshot fleet (one folder per cluster with `namespaces.yaml` and `services.yaml`)
and a store holding its configuration, then runs as whole processes, best of N interleaved:

* `tctl --store S --fleet DIR get se -A -o yaml > /dev/null`
* the floor: a plain Python process (`fleet_bench.py floor ...`) that only parses the same fleet
  files with libyaml and dumps as many ServiceEntry-shaped dicts (same total endpoints) as tctl
  prints, with libyaml, to /dev/null.

Peak memory is each process's own maximum resident set size, measured by GNU time (see `run`).
Then tctl alone at a few fleet sizes, to see whether time grows linearly with clusters x
services. The numbers are written to docs/performance.md between the `fleet-bench` markers.

    .venv/bin/python benchmarks/fleet_bench.py [--clusters 50] [--services 400] [--runs 3]
    .venv/bin/python benchmarks/fleet_bench.py --quick     # 10 x 100, a few seconds, print only

Placement: `--services` distinct Services (namespace/name) in the fleet; each has a home cluster
(round robin, so every cluster holds as many), every third one also runs in a second cluster,
every other one is labelled `exposed: "true"`, which the WorkspaceSetting's exposedServices
selects. Every cluster has an east-west gateway
LoadBalancer Service with 1-3 IPs. So each exposed Service gets a ServiceEntry in every cluster
it does not run in, and shadow WorkloadEntries plus a DestinationRule where it runs twice.

`--replicated` measures issue 8's fleet instead (`replicated-bench` markers): every third
Service runs in every cluster, the others in their home cluster alone, every gateway has 3 IPs.
It times, each next to its own floor, `get se --cluster cluster-07`, `get se -A`, `get we -A`
(all `-o yaml`) and `get se -A` on twice the clusters. Each floor is handed the very objects tctl
prints (its `-o json` output, pickled beforehand, loading untimed) and times parsing the fleet
files with libyaml plus dumping those objects as one List with libyaml; for the ServiceEntry
commands the benchmark checks that the floor's dump is tctl's output byte for byte.

    .venv/bin/python benchmarks/fleet_bench.py --replicated [--runs 1]   # about 10 minutes
    .venv/bin/python benchmarks/fleet_bench.py --replicated --quick      # 10 x 100, print only
"""

from __future__ import annotations

import os
import sys

# The floor process imports nothing but yaml: keep the module's top level light.


def floor(fleet_dir: str, count: int, endpoints: int, cyclic_gc: bool = False, size: bool = False) -> None:
    """Parse every fleet file with libyaml, then dump `count` ServiceEntry-sized dicts (holding
    `endpoints` endpoints in all) as one `kind: List` with libyaml to /dev/null.

    The cyclic GC is off, as in tctl's main(): a script can do that in one line, and with it on
    the floor mostly measures the collector walking YAML nodes (`cyclic_gc` keeps it on).
    `size` prints the number of bytes dumped instead (to check the floor prints as much as tctl).
    """
    import gc

    import yaml

    if not cyclic_gc:
        gc.disable()

    _parse_fleet(yaml, fleet_dir)
    items = []
    for i in range(count):
        # spread the endpoints evenly over the entries, as tctl's vary from 1 to 6
        n = endpoints * (i + 1) // count - endpoints * i // count
        items.append(_service_entry(i, n))
    document = {"apiVersion": "v1", "kind": "List", "items": items}
    if size:
        print(len(yaml.dump(document, **_dump_options(yaml)).encode()))
        return
    with open(os.devnull, "w") as sink:
        yaml.dump(document, sink, **_dump_options(yaml))


def floor_of_objects(fleet_dir: str, objects_file: str, out: str, cyclic_gc: bool = False) -> None:
    """Load the objects tctl printed (a pickled list, see `pickle_objects`), then, timed: parse
    every fleet file with libyaml and dump the objects as one `kind: List` with libyaml to `out`.

    Loading is not timed, as a floor that is handed its objects, but it counts in the process's
    peak memory: a program that dumps objects holds them. The timed seconds go to stderr.
    """
    import gc
    import pickle
    import time

    import yaml

    if not cyclic_gc:
        gc.disable()
    with open(objects_file, "rb") as handle:
        items = pickle.load(handle)
    start = time.perf_counter()
    _parse_fleet(yaml, fleet_dir)
    with open(out, "w", encoding="utf-8") as sink:
        yaml.dump({"apiVersion": "v1", "kind": "List", "items": items}, sink, **_dump_options(yaml))
    print(f"{FLOOR_SECONDS}{time.perf_counter() - start:.3f}", file=sys.stderr)


FLOOR_SECONDS = "parse and dump seconds: "


def _parse_fleet(yaml, fleet_dir: str) -> None:
    parsed = 0
    for cluster in sorted(os.listdir(fleet_dir)):
        folder = os.path.join(fleet_dir, cluster)
        for name in sorted(os.listdir(folder)):
            with open(os.path.join(folder, name), "rb") as handle:
                document = yaml.load(handle, Loader=yaml.CSafeLoader)
            parsed += len(document["items"])
    if parsed == 0:
        sys.exit("floor: no objects parsed")


def _dump_options(yaml) -> dict:
    """tctl's: block style, keys in order, unicode kept, no line wrapping."""
    return dict(
        Dumper=yaml.CSafeDumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1 << 16
    )


def pickle_objects(json_file: str, objects_file: str) -> None:
    """The items of tctl's `-o json` output, pickled for the floor; prints how many of each kind,
    and the ServiceEntries' endpoints, as JSON."""
    import collections
    import json
    import pickle

    with open(json_file, encoding="utf-8") as handle:
        items = json.load(handle)["items"]
    with open(objects_file, "wb") as handle:
        pickle.dump(items, handle, protocol=pickle.HIGHEST_PROTOCOL)
    counts = collections.Counter(item["kind"] for item in items)
    endpoints = sum(len(item["spec"].get("endpoints", ())) for item in items)
    print(json.dumps({"kinds": counts, "endpoints": endpoints}))


def _service_entry(i: int, n_endpoints: int) -> dict:
    """The shape and size of a ServiceEntry as tctl prints it (fresh dicts: no YAML aliases)."""
    namespace, name = f"ns-{i % 20:02d}", f"svc-{i:05d}"
    clusters = [f"cluster-{(i + k // 2) % 50:02d}" for k in range(n_endpoints)]
    ports = [("http", 8080, "HTTP")]
    if i % 2 == 0:  # like the fleet: half the exposed Services have a second port
        ports.append(("grpc", 9090, "GRPC"))
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "ServiceEntry",
        "metadata": {
            "name": f"{name}.{namespace}",
            "namespace": "xcp-multicluster",
            "labels": {
                "app.kubernetes.io/managed-by": "tctl",
                "tctl.tetrate.io/organization": "tse",
                "tctl.tetrate.io/tenant": "tse",
                "tctl.tetrate.io/workspace": "fleet-ws",
            },
            "annotations": {
                "tctl.tetrate.io/origins": ",".join(sorted(set(clusters))),
                "tctl.tetrate.io/source": "organizations/tse/tenants/tse/workspaces/fleet-ws/settings/fleet-ws-settings",
            },
        },
        "spec": {
            "hosts": [f"{name}.{namespace}.svc.cluster.local"],
            "location": "MESH_INTERNAL",
            "resolution": "STATIC",
            "ports": [
                {"name": port, "number": number, "protocol": protocol} for port, number, protocol in ports
            ],
            "endpoints": [
                {
                    "address": f"10.{k}.{i % 250}.{k + 1}",
                    "ports": {port: 15443 for port, _, _ in ports},
                    "labels": {
                        "security.istio.io/tlsMode": "istio",
                        "topology.istio.io/cluster": cluster,
                    },
                    "network": cluster.replace("cluster", "network"),
                    "locality": "eu-west-1",
                }
                for k, cluster in enumerate(clusters)
            ],
        },
    }


# ---------------------------------------------------------------------------------------------
# The fleet and the store

NAMESPACES = 20
GATEWAY_NAMESPACE = "eastwest"
REGIONS = ("eu-west-1", "eu-west-2", "us-east-1", "us-west-2", "ap-south-1")


def _cluster_name(c: int) -> str:
    return f"cluster-{c:02d}"


def _addresses(c: int, replicated: bool = False) -> list[str]:
    """1-3 IPs per cluster; 3 in the replicated fleet (as the issue's counts imply)."""
    return [f"10.{c // 200}.{c % 200}.{k + 1}" for k in range(3 if replicated else 1 + c % 3)]


def _service(namespace: str, name: str, i: int, exposed: bool) -> dict:
    labels = {"app": name, "service": name}
    if exposed:
        labels["exposed"] = "true"
    ports = [{"name": "http", "port": 8080, "protocol": "TCP", "targetPort": 8080}]
    if i % 4 == 0:
        ports.append({"name": "grpc", "port": 9090, "protocol": "TCP", "targetPort": 9090})
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "creationTimestamp": "2026-01-15T10:00:00Z",
            "resourceVersion": str(100000 + i),
            "uid": f"00000000-0000-4000-8000-{i:012d}",
        },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": f"172.20.{i // 250}.{i % 250}",
            "clusterIPs": [f"172.20.{i // 250}.{i % 250}"],
            "internalTrafficPolicy": "Cluster",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "selector": {"app": name},
            "sessionAffinity": "None",
            "ports": ports,
        },
        "status": {"loadBalancer": {}},
    }


def _gateway_service(c: int, addresses: list[str]) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "eastwest-gateway",
            "namespace": GATEWAY_NAMESPACE,
            "labels": {"app": "eastwest-gateway"},
        },
        "spec": {
            "type": "LoadBalancer",
            "selector": {"app": "eastwest-gateway", "istio": "eastwestgateway"},
            "ports": [
                {"name": "tls", "port": 15443, "protocol": "TCP", "targetPort": 15443, "nodePort": 30443}
            ],
        },
        "status": {"loadBalancer": {"ingress": [{"ip": ip} for ip in addresses]}},
    }


def _namespace(name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"istio-injection": "enabled"}},
    }


def _as_list(items: list[dict]) -> dict:
    return {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}


class Fleet:
    """A generated fleet: its folder, its store, and what tctl must print for it."""

    def __init__(self, root, clusters: int, services: int) -> None:
        self.root = root
        self.dir = root / "fleet"
        self.store = root / "store.db"
        self.clusters = clusters
        self.services = services
        self.objects = 0  # objects written (fleet files and configuration)
        self.service_entries = 0  # ServiceEntries tctl must print
        self.endpoints = 0  # their endpoints in all
        self.workload_entries = 0
        self.destination_rules = 0
        self.service_entries_in: list[int] = [0] * clusters  # per consumer cluster
        self.output_bytes = 0  # what tctl prints


def make_fleet(root, clusters: int, services: int, bin_dir, replicated: bool = False) -> Fleet:
    """The spread fleet (each Service in its home cluster, every third in a second one too), or
    with `replicated` the issue's: every third Service runs in every cluster, the others in their
    home cluster alone, and every gateway has 3 IPs."""
    import random
    import shutil
    import subprocess

    import yaml

    shutil.rmtree(root, ignore_errors=True)
    fleet = Fleet(root, clusters, services)
    fleet.dir.mkdir(parents=True)
    rng = random.Random(f"{clusters}x{services}")
    placed: list[list[dict]] = [[] for _ in range(clusters)]
    for i in range(services):
        namespace, name = f"ns-{i % NAMESPACES:02d}", f"svc-{i:05d}"
        exposed = i % 2 == 0
        home = (i // 2) % clusters  # an exposed and an unexposed Service, cluster after cluster
        where = [home]
        if replicated and i % 3 == 0:
            where = list(range(clusters))
        elif i % 3 == 0 and clusters > 1:
            where.append((home + rng.randrange(1, clusters)) % clusters)
        for c in where:
            placed[c].append(_service(namespace, name, i, exposed))
        if exposed:
            for c in set(range(clusters)) - set(where):
                fleet.service_entries_in[c] += 1
            fleet.service_entries += clusters - len(where)
            origin_ips = sum(len(_addresses(c, replicated)) for c in where)
            fleet.endpoints += (clusters - len(where)) * origin_ips
            if len(where) >= 2:  # each runner gets shadows of every other runner's addresses
                fleet.workload_entries += (len(where) - 1) * origin_ips
                fleet.destination_rules += len(where)
    for c in range(clusters):
        folder = fleet.dir / _cluster_name(c)
        folder.mkdir()
        used = sorted({svc["metadata"]["namespace"] for svc in placed[c]})
        namespaces = [_namespace(n) for n in ["default", GATEWAY_NAMESPACE, "istio-system", *used]]
        items = [*placed[c], _gateway_service(c, _addresses(c, replicated))]
        (folder / "namespaces.yaml").write_text(_dump(yaml, _as_list(namespaces)))
        (folder / "services.yaml").write_text(_dump(yaml, _as_list(items)))
        fleet.objects += len(namespaces) + len(items)

    config = [
        {
            "apiVersion": "api.tsb.tetrate.io/v2",
            "kind": "Organization",
            "metadata": {"name": "tse"},
            "spec": {"displayName": "TSE"},
        },
        {
            "apiVersion": "api.tsb.tetrate.io/v2",
            "kind": "Tenant",
            "metadata": {"name": "tse", "organization": "tse"},
            "spec": {"displayName": "TSE"},
        },
        {
            "apiVersion": "api.tsb.tetrate.io/v2",
            "kind": "Workspace",
            "metadata": {"name": "fleet-ws", "tenant": "tse", "organization": "tse"},
            "spec": {
                "namespaceSelector": {
                    "names": [f"*/{GATEWAY_NAMESPACE}", *(f"*/ns-{n:02d}" for n in range(NAMESPACES))]
                }
            },
        },
        {
            "apiVersion": "api.tsb.tetrate.io/v2",
            "kind": "WorkspaceSetting",
            "metadata": {
                "name": "fleet-ws-settings",
                "workspace": "fleet-ws",
                "tenant": "tse",
                "organization": "tse",
            },
            "spec": {
                "defaultEastWestGatewaySettings": [
                    {
                        "workloadSelector": {
                            "namespace": GATEWAY_NAMESPACE,
                            "labels": {"app": "eastwest-gateway"},
                        },
                        "exposedServices": [{"serviceLabels": {"exposed": "true"}}],
                    }
                ]
            },
        },
        *(
            {
                "apiVersion": "api.tsb.tetrate.io/v2",
                "kind": "Cluster",
                "metadata": {"name": _cluster_name(c), "organization": "tse"},
                "spec": {"network": f"network-{c:02d}", "locality": {"region": REGIONS[c % len(REGIONS)]}},
            }
            for c in range(clusters)
        ),
    ]
    config_file = root / "config.yaml"
    config_file.write_text(yaml.dump_all(config, Dumper=yaml.CSafeDumper, sort_keys=False))
    fleet.objects += len(config)
    applied = subprocess.run(
        [str(bin_dir / "tctl"), "--store", str(fleet.store), "apply", "--no-sync", "-f", str(config_file)],
        capture_output=True,
        text=True,
    )
    if applied.returncode != 0:
        sys.exit(f"tctl apply failed ({applied.returncode}):\n{applied.stderr}")
    return fleet


def _dump(yaml, data: object) -> str:
    return yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False, default_flow_style=False)


# ---------------------------------------------------------------------------------------------
# Running

TIME = "/usr/bin/time"


def run(command: list[str]) -> tuple[float, int | None, int, str]:
    """(wall seconds, peak RSS in KiB or None, exit code, stderr) of one whole process, stdout
    to /dev/null.

    Peak memory comes from GNU time (`%M`), which forks from its own small process. Measuring
    from here is wrong twice over: RUSAGE_CHILDREN's ru_maxrss is a high-water mark over every
    child so far (deltas cannot split it), and even os.wait4 on the child reports at least this
    benchmark's own RSS, because subprocess starts children with vfork and Linux counts the
    pre-exec (shared) memory in the child's ru_maxrss.
    """
    import subprocess
    import tempfile
    import time

    measured = os.access(TIME, os.X_OK)
    with tempfile.NamedTemporaryFile() as stderr, tempfile.NamedTemporaryFile("r") as peak:
        full = [TIME, "-q", "-f", "%M", "-o", peak.name, *command] if measured else command
        start = time.perf_counter()
        code = subprocess.run(full, stdout=subprocess.DEVNULL, stderr=stderr).returncode
        elapsed = time.perf_counter() - start
        stderr.seek(0)
        errors = stderr.read().decode("utf-8", "replace")
        kib = int(peak.read().split()[-1]) if measured and code == 0 else None
    return elapsed, kib, code, errors


def tctl_command(bin_dir, fleet: Fleet) -> list[str]:
    return [
        str(bin_dir / "tctl"),
        "--store",
        str(fleet.store),
        "--fleet",
        str(fleet.dir),
        "get",
        "se",
        "-A",
        "-o",
        "yaml",
    ]


def check_output(bin_dir, fleet: Fleet) -> None:
    """One untimed run: tctl prints exactly the ServiceEntries the placement implies, and no
    warning (a warning would mean the generated fleet is not what the benchmark claims)."""
    import subprocess

    import yaml

    result = subprocess.run(tctl_command(bin_dir, fleet), capture_output=True, text=True)
    if result.returncode != 0 or result.stderr:
        sys.exit(f"tctl get se failed ({result.returncode}):\n{result.stderr[:2000]}")
    fleet.output_bytes = len(result.stdout.encode())
    items = yaml.load(result.stdout, Loader=yaml.CSafeLoader)["items"]
    endpoints = sum(len(item["spec"]["endpoints"]) for item in items)
    if (len(items), endpoints) != (fleet.service_entries, fleet.endpoints):
        sys.exit(
            f"tctl printed {len(items)} ServiceEntries with {endpoints} endpoints; expected "
            f"{fleet.service_entries} with {fleet.endpoints}"
        )


def best_of(commands: dict, runs: int) -> dict:
    """Best wall time, and the peak memory and stderr of that run, per command, runs interleaved."""
    best: dict = {}
    for _ in range(runs):
        for name, command in commands.items():
            elapsed, rss, code, errors = run(command)
            if code != 0:
                sys.exit(f"{name} failed with exit code {code}:\n{errors[:2000]}")
            if name not in best or elapsed < best[name][0]:
                best[name] = (elapsed, rss, errors)
    return best


def main() -> None:
    import argparse
    import platform
    import subprocess
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    work = root / "benchmarks" / ".work" / "fleet"
    bin_dir = Path(sys.executable).parent
    # The virtualenv's `tctl` runs this checkout's code, wherever the package was installed from.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    sys.path.insert(0, str(root / "benchmarks"))
    from validate_bench import _cpus, write_section

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=50)
    parser.add_argument("--services", type=int, default=400)
    parser.add_argument("--runs", type=int, help="best of how many runs (3; 1 with --replicated)")
    parser.add_argument(
        "--quick", action="store_true", help="10 clusters x 100 services, smaller sizes, 2 runs; print only"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs alone")
    parser.add_argument(
        "--replicated",
        action="store_true",
        help="the replicated fleet (every third Service in every cluster) against a floor per command",
    )
    args = parser.parse_args()
    if args.replicated:
        args.runs = args.runs or 1  # the WorkloadEntry command and its floor take minutes each
        replicated(args, root, bin_dir, write_section, _cpus)
        return
    args.runs = args.runs or 3
    if args.services < 2 * args.clusters:
        parser.error(
            "--services must be at least twice --clusters, so that every cluster's "
            "gateway exposes a Service (else tctl warns, and the check stops)"
        )
    if args.quick:
        args.clusters, args.services, args.runs = 10, 100, 2
        sizes = [(5, 100), (10, 50), (10, 100)]
    else:
        sizes = [(10, 400), (25, 400), (50, 100), (50, 200), (50, 400)]
    main_size = (args.clusters, args.services)
    sizes = sorted(set(sizes) | {main_size})
    tiny = (2, 10)  # what tctl costs before any real work: start-up, store, a near-empty fleet

    started = time.perf_counter()
    fleets = {}
    for clusters, services in [tiny, *sizes]:
        fleet = make_fleet(work / f"{clusters}x{services}", clusters, services, bin_dir)
        check_output(bin_dir, fleet)
        fleets[(clusters, services)] = fleet
        print(
            f"{clusters} clusters x {services} services: generated {fleet.objects} objects "
            f"(fleet files and configuration); tctl prints {fleet.service_entries} "
            f"ServiceEntries ({fleet.endpoints} endpoints) and also computes "
            f"{fleet.workload_entries} WorkloadEntries, {fleet.destination_rules} "
            f"DestinationRules",
            file=sys.stderr,
        )

    main_fleet = fleets[main_size]
    floor_command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "floor",
        str(main_fleet.dir),
        str(main_fleet.service_entries),
        str(main_fleet.endpoints),
    ]
    floor_bytes = int(
        subprocess.run([*floor_command, "--size"], capture_output=True, text=True, check=True).stdout
    )
    if abs(floor_bytes - main_fleet.output_bytes) > 0.05 * main_fleet.output_bytes:
        print(
            f"warning: the floor dumps {floor_bytes} bytes, tctl prints "
            f"{main_fleet.output_bytes}: update _service_entry to tctl's ServiceEntries",
            file=sys.stderr,
        )
    side = best_of(
        {
            "tctl": tctl_command(bin_dir, main_fleet),
            "floor": floor_command,
            "floor-gc": [*floor_command, "--gc"],
        },
        args.runs,
    )
    (tctl_s, tctl_kb, _), (floor_s, floor_kb, _) = side["tctl"], side["floor"]

    others = [size for size in [tiny, *sizes] if size != main_size]
    linear = best_of({size: tctl_command(bin_dir, fleets[size]) for size in others}, args.runs)
    linear[main_size] = side["tctl"]
    base = linear[tiny][0]
    total = time.perf_counter() - started

    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {_cpus()} CPUs, "
        f"Python {platform.python_version()}, PyYAML {_yaml_version()} with libyaml; "
        f"{args.clusters} clusters x {args.services} services ({main_fleet.objects} objects "
        f"generated); tctl prints {main_fleet.service_entries} ServiceEntries "
        f"({main_fleet.endpoints} endpoints, {main_fleet.output_bytes / 1e6:.1f} MB of YAML; "
        f"the floor's dump: {floor_bytes / 1e6:.1f} MB); "
        f"best of {args.runs} runs, interleaved, whole processes, peak memory by GNU time.",
        "",
        "| command | wall time | peak memory |",
        "|---|---|---|",
        f"| `tctl --store S --fleet DIR get se -A -o yaml > /dev/null` | {tctl_s:.2f} s | {_mib(tctl_kb)} |",
        f"| floor: libyaml load of the fleet files, libyaml dump of as many ServiceEntries "
        f"| {floor_s:.2f} s | {_mib(floor_kb)} |",
        f"| the same floor with the cyclic GC left on | {side['floor-gc'][0]:.2f} s "
        f"| {_mib(side['floor-gc'][1])} |",
        "",
        f"tctl / floor: **{tctl_s / floor_s:.2f}x** the time"
        + (f", {tctl_kb / floor_kb:.2f}x the peak memory." if tctl_kb and floor_kb else "."),
        "",
        f"tctl alone by fleet size; on a {tiny[0]} x {tiny[1]} fleet (start-up, store, next to "
        f"no work) it takes {base:.2f} s:",
        "",
        "| clusters x services | ServiceEntries | wall time | peak memory "
        "| per cluster x service | the same above start-up |",
        "|---|---|---|---|---|---|",
        *(
            f"| {c} x {s} | {fleets[(c, s)].service_entries} | {linear[(c, s)][0]:.2f} s "
            f"| {_mib(linear[(c, s)][1])} | {linear[(c, s)][0] / (c * s) * 1e6:.0f} µs "
            f"| {(linear[(c, s)][0] - base) / (c * s) * 1e6:.0f} µs |"
            for c, s in sizes
        ),
    ]
    text = "\n".join(lines)
    print(text)
    print(f"\n(benchmark took {total:.0f} s)", file=sys.stderr)
    if not (args.no_write or args.quick):  # the doc's section is about the 50-cluster fleet
        write_section(root / "docs" / "performance.md", "fleet-bench", text)


def _mib(kib: int | None) -> str:
    return "n/a" if kib is None else f"{kib / 1024:.0f} MiB"


def _yaml_version() -> str:
    import yaml

    return yaml.__version__


# ---------------------------------------------------------------------------------------------
# The replicated fleet of issue 8, each command next to a floor that dumps the objects it prints

REPLICATED_CLUSTER = "cluster-07"


class Case:
    """One timed command: `tctl get ARGS -o yaml` on a fleet, and the objects it must print.
    `compare`: check that the floor dumps tctl's bytes (two more runs of each)."""

    def __init__(
        self, label: str, fleet: Fleet, args: list[str], kind: str, count: int, compare: bool = False
    ) -> None:
        self.label, self.fleet, self.args, self.kind, self.count = label, fleet, args, kind, count
        self.compare = compare
        self.slug = "-".join(a.strip("-") for a in args) + f"-{fleet.clusters}"
        self.objects_file = fleet.root / f"{self.slug}.pickle"
        self.output_bytes = 0

    def tctl(self, bin_dir, output: str = "yaml") -> list[str]:
        fleet = self.fleet
        return [
            *(str(bin_dir / "tctl"), "--store", str(fleet.store), "--fleet", str(fleet.dir), "get"),
            *(*self.args, "-o", output),
        ]

    def floor(self, out: str = os.devnull) -> list[str]:
        return [sys.executable, __file__, "floor-objects", str(self.fleet.dir), str(self.objects_file), out]


def prepare(case: Case, bin_dir) -> None:
    """Untimed: tctl's `-o json` output of the case, checked against the placement and pickled for
    the floor; with `case.compare` also that the floor's dump is tctl's YAML byte for byte."""
    import json
    import subprocess

    json_file = case.fleet.root / f"{case.slug}.json"
    with open(json_file, "wb") as sink:
        ran = subprocess.run(case.tctl(bin_dir, "json"), stdout=sink, stderr=subprocess.PIPE, text=False)
    if ran.returncode != 0 or ran.stderr:
        sys.exit(f"{case.label} failed ({ran.returncode}):\n{ran.stderr.decode()[:2000]}")
    counted = subprocess.run(
        [sys.executable, __file__, "pickle-objects", str(json_file), str(case.objects_file)],
        capture_output=True,
        text=True,
        check=True,
    )
    json_file.unlink()
    kinds = json.loads(counted.stdout)["kinds"]
    if kinds != {case.kind: case.count}:
        sys.exit(f"{case.label}: tctl printed {kinds}; the placement implies {case.count} {case.kind}")
    if not case.compare:
        return
    tctl_out, floor_out = case.fleet.root / "tctl.yaml", case.fleet.root / "floor.yaml"
    with open(tctl_out, "wb") as sink:
        subprocess.run(case.tctl(bin_dir), stdout=sink, check=True)
    subprocess.run(case.floor(str(floor_out)), stderr=subprocess.DEVNULL, check=True)
    if tctl_out.read_bytes() != floor_out.read_bytes():
        sys.exit(f"{case.label}: the floor's dump differs from tctl's output")
    case.output_bytes = tctl_out.stat().st_size
    tctl_out.unlink()
    floor_out.unlink()


def replicated(args, root, bin_dir, write_section, cpus) -> None:
    import platform
    import time

    if args.quick:
        args.clusters, args.services, args.runs = 10, 100, 1
    work = root / "benchmarks" / ".work" / "replicated"
    started = time.perf_counter()
    main_fleet, doubled = (
        make_fleet(work / f"{c}x{args.services}", c, args.services, bin_dir, replicated=True)
        for c in (args.clusters, 2 * args.clusters)
    )
    target = int(REPLICATED_CLUSTER.rsplit("-", 1)[1])
    cases = [
        Case(
            f"`get se --cluster {REPLICATED_CLUSTER} -o yaml`",
            main_fleet,
            ["se", "--cluster", REPLICATED_CLUSTER],
            "ServiceEntry",
            main_fleet.service_entries_in[target],
            compare=True,
        ),
        Case(
            "`get se -A -o yaml`",
            main_fleet,
            ["se", "-A"],
            "ServiceEntry",
            main_fleet.service_entries,
            compare=True,
        ),
        Case("`get we -A -o yaml`", main_fleet, ["we", "-A"], "WorkloadEntry", main_fleet.workload_entries),
        Case(
            f"`get se -A -o yaml`, {doubled.clusters} clusters",
            doubled,
            ["se", "-A"],
            "ServiceEntry",
            doubled.service_entries,
        ),
    ]
    for case in cases:
        prepare(case, bin_dir)
        print(f"{case.label}: {case.count} {case.kind} objects", file=sys.stderr)
    commands = {}
    for case in cases:
        commands[case.label] = case.tctl(bin_dir)
        commands[case.label + " floor"] = case.floor()
    timed = best_of(commands, args.runs)

    rows = []
    for case in cases:
        tctl_s, tctl_kb, _ = timed[case.label]
        process_s, floor_kb, _ = timed[case.label + " floor"]
        floor_s = _floor_seconds(timed[case.label + " floor"])
        size = f"{case.output_bytes / 1e6:.1f} MB" if case.output_bytes else "n/a"
        rows.append(
            f"| {case.label} | {case.count} | {size} | {tctl_s:.2f} s | {_mib(tctl_kb)} "
            f"| {floor_s:.2f} s | {process_s:.2f} s | {_mib(floor_kb)} "
            f"| **{tctl_s / floor_s:.2f}x** | {_ratio(tctl_kb, floor_kb)} |"
        )
    se_all, se_doubled = timed[cases[1].label][0], timed[cases[3].label][0]
    floor_growth = _floor_seconds(timed[cases[3].label + " floor"]) / _floor_seconds(
        timed[cases[1].label + " floor"]
    )
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {cpus()} CPUs, "
        f"Python {platform.python_version()}, PyYAML {_yaml_version()} with libyaml; "
        f"{args.clusters} clusters x {args.services} services, {main_fleet.objects} objects generated "
        f"({main_fleet.service_entries} ServiceEntries, {main_fleet.workload_entries} WorkloadEntries "
        f"and {main_fleet.destination_rules} DestinationRules fleet-wide); best of {args.runs} "
        f"run{'s' if args.runs > 1 else ''}, interleaved, whole processes, peak memory by GNU time.",
        "",
        "| command (`tctl --store S --fleet DIR ... > /dev/null`) | objects | YAML | tctl time "
        "| tctl peak memory | floor: parse + dump | floor process | floor peak memory "
        "| time / floor | memory / floor |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Doubling the clusters ({args.clusters} to {doubled.clusters}) multiplies the time of "
        f"`get se -A -o yaml` by **{se_doubled / se_all:.2f}x** (the floor's parse and dump: "
        f"{floor_growth:.2f}x).",
    ]
    text = "\n".join(lines)
    print(text)
    print(f"\n(benchmark took {time.perf_counter() - started:.0f} s)", file=sys.stderr)
    if not (args.no_write or args.quick):
        write_section(root / "docs" / "performance.md", "replicated-bench", text)


def _floor_seconds(measured: tuple) -> float:
    return float(measured[2].rsplit(FLOOR_SECONDS, 1)[1])


def _ratio(kib: int | None, floor_kib: int | None) -> str:
    return f"{kib / floor_kib:.2f}x" if kib and floor_kib else "n/a"


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "floor-objects":
        floor_of_objects(sys.argv[2], sys.argv[3], sys.argv[4], cyclic_gc="--gc" in sys.argv[5:])
    elif len(sys.argv) > 1 and sys.argv[1] == "pickle-objects":
        pickle_objects(sys.argv[2], sys.argv[3])
    elif len(sys.argv) > 1 and sys.argv[1] == "floor":
        floor(
            sys.argv[2],
            int(sys.argv[3]),
            int(sys.argv[4]),
            cyclic_gc="--gc" in sys.argv[5:],
            size="--size" in sys.argv[5:],
        )
    else:
        main()

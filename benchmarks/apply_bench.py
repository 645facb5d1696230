"""Apply the generated objects of 200 exposed Services to 20 emulated clusters: tctl against kubectl.

Each cluster is an emulated Kubernetes API server (tests/support: kmock behind aiohttp, https on
127.0.0.1) that adds `--latency` (20 ms) to every request. The emulators run on the same machine,
in `--emulator-processes` (4) processes started by this script, clusters spread round robin (see
EMULATOR_PROCESSES for why not one). Side by side in one run, each on fresh emulators, best of
`--runs` rounds, interleaved:

* tctl: `tctl apply -f CONFIG` (first apply), then the same again (no-op), one process.
* kubectl: the same objects as `tctl render --out DIR` writes them (rendered untimed, from a
  store filled with `apply --no-sync`), then `kubectl apply --server-side -R -f DIR/<cluster>`
  for every cluster, the 20 processes started at once and timed until the last one ends
  (first apply), then again (no-op; kubectl sends every object again, the server writes nothing).

Requests are counted by the emulators per cluster and HTTP method; writes are the changes they
persisted. Both first applies must create exactly the objects the placement implies, and leave
the same objects in the clusters (kind, name, labels, annotations, spec); the no-op runs must
persist nothing. The numbers are written to docs/performance.md between the `apply-bench`
markers.

    .venv/bin/python benchmarks/apply_bench.py [--clusters 20] [--services 200] [--runs 3]
                                               [--latency 0.02] [--emulator-processes 4]
    .venv/bin/python benchmarks/apply_bench.py --quick      # 5 x 50, one round, print only

Placement: `--services` Services, all labelled `exposed: "true"` and selected by the
WorkspaceSetting, in one namespace (`bench`, the Workspace is `*/bench`). Service i's home is
cluster i mod N; every fourth one also runs in a second cluster, so every cluster is an origin
(its Services) and a consumer (everyone else's). Every cluster has an east-west gateway
LoadBalancer Service in `bench` with 1 to 3 IPs from the TEST-NET ranges.
"""

from __future__ import annotations

import argparse
import collections
import compileall
import json
import multiprocessing
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work" / "apply"
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from validate_bench import _cpus, write_section

from tctl_py.mesh.names import ANNOTATION_STORE
from tests.support import EmulatedFleet

NAMESPACE = "bench"
GATEWAY = "eastwest-gateway"
TEST_NETS = ("192.0.2", "198.51.100", "203.0.113")  # RFC 5737: documentation addresses
METHODS = ("GET", "PATCH", "POST", "PUT", "DELETE")
GENERATED_KINDS = ("Namespace", "ServiceEntry", "WorkloadEntry", "DestinationRule", "Gateway")


def cluster_name(c: int) -> str:
    return f"cluster-{c:02d}"


def gateway_ips(c: int) -> list[str]:
    """1 to 3 addresses, each from another TEST-NET range; unique per cluster (c < 254)."""
    return [f"{TEST_NETS[k]}.{c + 1}" for k in range(1 + c % 3)]


# ---------------------------------------------------------------------------------------------
# The scenario


@dataclass
class Scenario:
    clusters: list[str]
    objects: dict[str, list[dict]]  # cluster -> Namespaces and Services to seed
    config: list[dict]  # Organization, Tenant, Workspace, WorkspaceSetting, Clusters
    expected: dict[str, collections.Counter] = field(default_factory=dict)  # cluster -> kind -> n

    def seeded(self, name: str) -> int:
        return len(self.objects[name])

    def generated(self, name: str) -> int:
        return sum(self.expected[name].values())


def _service(name: str, i: int) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"app": name, "exposed": "true"}},
        "spec": {
            "type": "ClusterIP",
            "selector": {"app": name},
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP", "targetPort": 8080}],
        },
    }


def _gateway_service(c: int) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": GATEWAY, "namespace": NAMESPACE, "labels": {"app": GATEWAY}},
        "spec": {
            "type": "LoadBalancer",
            "selector": {"app": GATEWAY, "istio": "eastwestgateway"},
            "ports": [{"name": "tls", "port": 15443, "protocol": "TCP", "targetPort": 15443}],
        },
        "status": {"loadBalancer": {"ingress": [{"ip": ip} for ip in gateway_ips(c)]}},
    }


def _namespace(name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"istio-injection": "enabled"}},
    }


def make_scenario(clusters: int, services: int) -> Scenario:
    """The placement over `clusters` clusters, and the objects it implies in each."""
    placed: dict[int, list[dict]] = {c: [] for c in range(clusters)}
    where_of: dict[int, list[int]] = {}
    for i in range(services):
        home = i % clusters
        where = [home]
        if i % 4 == 3 and clusters > 1:  # some run in two clusters: failover between them
            where.append((home + 1 + (i // clusters) % (clusters - 1)) % clusters)
        where_of[i] = where
        for c in where:
            placed[c].append(_service(f"svc-{i:03d}", i))
    names = [cluster_name(c) for c in range(clusters)]
    objects = {
        cluster_name(c): [
            _namespace("default"),
            _namespace("istio-system"),
            _namespace(NAMESPACE),
            _gateway_service(c),
            *placed[c],
        ]
        for c in range(clusters)
    }

    expected: dict[str, collections.Counter] = {}
    for d in range(clusters):
        count: collections.Counter = collections.Counter()
        for where in where_of.values():
            remote = [c for c in where if c != d]
            if not remote:
                continue
            if d in where:  # shadow WorkloadEntries (one per gateway IP) and a DestinationRule
                count["WorkloadEntry"] += sum(len(gateway_ips(c)) for c in remote)
                count["DestinationRule"] += 1
            else:
                count["ServiceEntry"] += 1
        count["Gateway"] = 1  # the gateway exposes the cluster's own Services
        if count["ServiceEntry"]:
            count["Namespace"] = 1  # xcp-multicluster
        expected[cluster_name(d)] = count

    org = {"organization": "tse"}
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
            "metadata": {"name": "tse", **org},
            "spec": {"displayName": "TSE"},
        },
        {
            "apiVersion": "api.tsb.tetrate.io/v2",
            "kind": "Workspace",
            "metadata": {"name": "bench-ws", "tenant": "tse", **org},
            "spec": {"namespaceSelector": {"names": [f"*/{NAMESPACE}"]}},
        },
        {
            "apiVersion": "api.tsb.tetrate.io/v2",
            "kind": "WorkspaceSetting",
            "metadata": {"name": "bench-ws-settings", "workspace": "bench-ws", "tenant": "tse", **org},
            "spec": {
                "defaultEastWestGatewaySettings": [
                    {
                        "workloadSelector": {"namespace": NAMESPACE, "labels": {"app": GATEWAY}},
                        "exposedServices": [{"serviceLabels": {"exposed": "true"}}],
                    }
                ]
            },
        },
        *(
            {
                "apiVersion": "api.tsb.tetrate.io/v2",
                "kind": "Cluster",
                "metadata": {"name": cluster_name(c), **org},
                "spec": {"network": f"network-{c:02d}", "locality": {"region": "eu-west-1"}},
            }
            for c in range(clusters)
        ),
    ]
    return Scenario(names, objects, config, expected)


# ---------------------------------------------------------------------------------------------
# Emulator processes

# The emulators are the test harness's (tests/support): kmock behind aiohttp, every cluster of an
# EmulatedFleet served by one event-loop thread. A real fleet has an API server per cluster; one
# thread serving 20 clusters (~1 ms of CPU per request) queues their requests behind each other,
# and it, not the client, set the pace (20 clusters: 11.2 s on one thread, 7.3 s over 4
# processes). So the clusters are spread over a few processes, each with its own EmulatedFleet.
EMULATOR_PROCESSES = 4


def _comparable(obj: dict) -> dict:
    """What both tools applied of an object: no server fields, no field managers, and not the
    stamp of the store that applied it, which `tctl apply` adds and rendered files leave out."""
    meta = obj.get("metadata") or {}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != ANNOTATION_STORE}
    return {
        "apiVersion": obj.get("apiVersion"),
        "kind": obj.get("kind"),
        "metadata": {
            **{k: meta.get(k) for k in ("name", "namespace", "labels")},
            "annotations": annotations,
        },
        "spec": obj.get("spec"),
    }


def _generated(cluster) -> dict[tuple[str, str, str], dict]:
    """The objects of the generated kinds in an emulated cluster, by (kind, namespace, name),
    less those it was seeded with."""
    seeded = {NAMESPACE, "default", "istio-system"}
    found = {}
    for kind in GENERATED_KINDS:
        for obj in cluster.list(kind):
            meta = obj["metadata"]
            if kind == "Namespace" and meta["name"] in seeded:
                continue
            found[(kind, meta.get("namespace") or "", meta["name"])] = _comparable(obj)
    return found


def _serve(conn, objects: dict[str, list[dict]], directory: str, latency: float) -> None:
    """An emulator process: these clusters (https, so that kubectl sends its token), then answer
    commands until "close"."""
    fleet = EmulatedFleet(directory)
    try:
        for name, seeded in objects.items():
            cluster = fleet.add_cluster(name, objects=seeded, tls=True)
            cluster.latency = latency
        conn.send(yaml.safe_load(fleet.write_kubeconfig().read_text()))
        while (command := conn.recv()) != "close":
            if command == "objects":
                conn.send({name: _generated(c) for name, c in fleet.clusters.items()})
                continue
            if command == "reset":
                for cluster in fleet.clusters.values():
                    cluster.reset_counts()
            counts = {name: c.counts for name, c in fleet.clusters.items()}
            writes = {name: c.writes for name, c in fleet.clusters.items()}
            conn.send((counts, writes, fleet.call(time.thread_time)))
    finally:
        fleet.close()


@dataclass
class Run:
    seconds: float
    counts: dict[str, collections.Counter]  # cluster -> method -> requests
    writes: dict[str, int]  # cluster -> changes persisted
    emulator_cpu: float  # CPU seconds of the emulators' threads during the run
    client_cpu: float  # CPU seconds (user + system) of the client processes (tctl or kubectl)
    stdout: dict[str, str]  # cluster (or "" for tctl's one process) -> what it printed


class Emulated:
    """A scenario's clusters on fresh emulators (spread over up to `processes` processes), a
    fresh store and a kubeconfig reaching them, and tctl or kubectl run against them."""

    def __init__(
        self, scenario: Scenario, directory: Path, latency: float, processes: int = EMULATOR_PROCESSES
    ) -> None:
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        self.scenario = scenario
        self.directory = directory
        context = multiprocessing.get_context("spawn")
        groups = [scenario.clusters[i::processes] for i in range(min(processes, len(scenario.clusters)))]
        self.conns, self.processes = [], []
        for i, names in enumerate(groups):
            parent, child = context.Pipe()
            process = context.Process(
                target=_serve,
                daemon=True,
                args=(
                    child,
                    {name: scenario.objects[name] for name in names},
                    str(directory / f"emulators-{i}"),
                    latency,
                ),
            )
            process.start()
            self.conns.append(parent)
            self.processes.append(process)
        # one kubeconfig from each process's (each has its own CA and client certificate)
        parts = [conn.recv() for conn in self.conns]
        kubeconfig = {
            **parts[0],
            **{
                key: [entry for part in parts for entry in part[key]]
                for key in ("clusters", "users", "contexts")
            },
            "current-context": scenario.clusters[0],
        }
        self.config = directory / "config.yaml"
        self.config.write_text(yaml.safe_dump_all(scenario.config, sort_keys=False))
        self.kubeconfig = directory / "kubeconfig.yaml"
        self.kubeconfig.write_text(yaml.safe_dump(kubeconfig, sort_keys=False))
        self.env = dict(
            os.environ,
            KUBECONFIG=str(self.kubeconfig),
            TCTL_STORE=str(directory / "store.db"),
            PYTHONPATH=str(ROOT),  # this tree's tctl, whichever tree the venv's was installed from
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
        )
        self.env.pop("TCTL_FLEET", None)

    def __enter__(self) -> Emulated:
        return self

    def __exit__(self, *exc: object) -> None:
        for conn in self.conns:
            conn.send("close")
        for process in self.processes:
            process.join(10)

    def _ask(self, command: str) -> tuple[dict, dict, float]:
        counts: dict[str, collections.Counter] = {}
        writes: dict[str, int] = {}
        cpu = 0.0
        for conn in self.conns:
            conn.send(command)
        for conn in self.conns:
            some_counts, some_writes, some_cpu = conn.recv()
            counts.update(some_counts)
            writes.update(some_writes)
            cpu += some_cpu
        return counts, writes, cpu

    def objects(self) -> dict[str, dict]:
        """cluster -> (kind, namespace, name) -> the generated object as it is stored."""
        found: dict[str, dict] = {}
        for conn in self.conns:
            conn.send("objects")
        for conn in self.conns:
            found.update(conn.recv())
        return found

    def run(self, commands: dict[str, list[str]]) -> Run:
        """Start every command at once (name -> argv) and time them until the last one ends."""
        _, _, cpu = self._ask("reset")
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        processes = {
            name: subprocess.Popen(
                argv, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for name, argv in commands.items()
        }
        outputs = {name: process.communicate() for name, process in processes.items()}
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)  # CPU times add up: a delta is fine
        client_cpu = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
        counts, writes, cpu_after = self._ask("stats")
        for name, process in processes.items():
            stderr = outputs[name][1]
            if process.returncode != 0 or "warning" in stderr.lower():
                sys.exit(f"{' '.join(commands[name])}: exit code {process.returncode}\n{stderr[-3000:]}")
        stdout = {name: out for name, (out, _) in outputs.items()}
        return Run(elapsed, counts, writes, cpu_after - cpu, client_cpu, stdout)

    def tctl(self, *args: str) -> Run:
        return self.run({"": [str(BIN / "tctl"), *args]})

    def kubectl(self, rendered: Path) -> Run:
        """`kubectl apply --server-side` of each cluster's rendered files, all clusters at once."""
        cache = self.directory / "kubectl-cache"
        return self.run(
            {
                name: [
                    "kubectl",
                    "--kubeconfig",
                    str(self.kubeconfig),
                    "--context",
                    name,
                    "--cache-dir",
                    str(cache),
                    "apply",
                    "--server-side",
                    "--validate=false",
                    "-R",
                    "-f",
                    str(rendered / name),
                ]
                for name in self.scenario.clusters
            }
        )


def check_writes(scenario: Scenario, run: Run) -> None:
    """A first apply persisted exactly the objects the placement implies, one PATCH each."""
    for name in scenario.clusters:
        if run.writes[name] != scenario.generated(name) or run.counts[name]["PATCH"] != run.writes[name]:
            sys.exit(
                f"{name}: {run.writes[name]} changes persisted with {run.counts[name]['PATCH']} "
                f"PATCH requests, expected {scenario.generated(name)} of each (no retries)"
            )


def check_tctl_first(scenario: Scenario, run: Run) -> None:
    """tctl's first apply reports creating exactly the objects the placement implies."""
    created: dict[str, collections.Counter] = {name: collections.Counter() for name in scenario.clusters}
    kinds = {kind.lower(): kind for kind in GENERATED_KINDS}
    for line in run.stdout[""].splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == "created" and parts[0] in created:
            created[parts[0]][kinds[parts[1].split("/")[0].split(".")[0]]] += 1
    for name in scenario.clusters:
        if created[name] != scenario.expected[name]:
            sys.exit(
                f"{name}: the first apply created {dict(created[name])}, expected "
                f"{dict(scenario.expected[name])}"
            )
    check_writes(scenario, run)


def check_kubectl_first(scenario: Scenario, run: Run) -> None:
    """kubectl applied one object per rendered file in each cluster."""
    for name in scenario.clusters:
        applied = run.stdout[name].count(" serverside-applied")
        if applied != scenario.generated(name):
            sys.exit(f"{name}: kubectl applied {applied} objects, expected {scenario.generated(name)}")
    check_writes(scenario, run)


def check_noop(run: Run) -> None:
    for name, counts in run.counts.items():
        if run.writes[name]:
            sys.exit(f"{name}: the no-op re-apply wrote: {dict(counts)}, {run.writes[name]} changes")
    text = run.stdout.get("", "")
    if "created" in text or "configured" in text or "pruned" in text:
        sys.exit("tctl's no-op re-apply reports changes:\n" + text[:2000])


def check_same(tctl_objects: dict[str, dict], kubectl_objects: dict[str, dict]) -> None:
    for name, objects in tctl_objects.items():
        if objects != kubectl_objects.get(name):
            theirs = kubectl_objects.get(name) or {}
            differ = sorted(
                key for key in objects.keys() | theirs.keys() if objects.get(key) != theirs.get(key)
            )
            sys.exit(f"{name}: tctl and kubectl left different objects, e.g. {differ[:3]}")


# ---------------------------------------------------------------------------------------------
# The benchmark

TOOLS = ("tctl", "kubectl")


def one_round(args: argparse.Namespace, scenario: Scenario, best: dict[str, dict[str, Run]]) -> None:
    left: dict[str, dict[str, dict]] = {}
    for tool in TOOLS:
        with Emulated(scenario, WORK / tool, args.latency, args.emulator_processes) as emulated:
            if tool == "tctl":
                first = emulated.tctl("apply", "-f", str(emulated.config))
                check_tctl_first(scenario, first)
                left[tool] = emulated.objects()
                noop = emulated.tctl("apply", "-f", str(emulated.config))
            else:
                rendered = emulated.directory / "rendered"
                emulated.tctl("apply", "--no-sync", "-f", str(emulated.config))
                emulated.tctl("render", "--out", str(rendered))
                first = emulated.kubectl(rendered)
                check_kubectl_first(scenario, first)
                left[tool] = emulated.objects()
                noop = emulated.kubectl(rendered)
            check_noop(noop)
        for kind, run in (("first", first), ("noop", noop)):
            if kind not in best[tool] or run.seconds < best[tool][kind].seconds:
                best[tool][kind] = run
        print(
            f"  {tool}: first {first.seconds:.2f} s (its CPU {first.client_cpu:.2f} s, emulators "
            f"{first.emulator_cpu:.2f} s), no-op {noop.seconds:.2f} s (its CPU "
            f"{noop.client_cpu:.2f} s, emulators {noop.emulator_cpu:.2f} s)",
            file=sys.stderr,
        )
    check_same(left["tctl"], left["kubectl"])


def per_cluster(run: Run, names: list[str], method: str) -> str:
    """Requests of `method` per cluster: one number, or the range over `names` and their mean."""
    values = [run.counts[name][method] for name in names]
    low, high = min(values), max(values)
    if low == high:
        return str(low)
    return f"{low}–{high} (mean {sum(values) / len(values):.0f})"


def _count(n: int, kind: str) -> str:
    plural = kind[:-1] + "ies" if kind.endswith("y") and kind[-2] not in "aeiou" else kind + "s"
    return f"{n} {kind if n == 1 else plural}"


def report(
    args: argparse.Namespace, scenario: Scenario, best: dict[str, dict[str, Run]], loads: list[float]
) -> str:
    n = len(scenario.clusters)
    seeded = [scenario.seeded(name) for name in scenario.clusters]
    generated = [scenario.generated(name) for name in scenario.clusters]
    kinds_total = sum((scenario.expected[name] for name in scenario.clusters), collections.Counter())
    kinds_text = ", ".join(_count(kinds_total[k], k) for k in GENERATED_KINDS if kinds_total[k])
    processes = min(args.emulator_processes, n)
    b = best
    cpus = _cpus()

    def floor(tool: str, kind: str) -> float:
        """The least time the run's CPU work (the tool's and the emulators') takes on `cpus`."""
        run = b[tool][kind]
        return (run.client_cpu + run.emulator_cpu) / cpus

    def cells(tool: str) -> str:
        first, noop = b[tool]["first"], b[tool]["noop"]
        return (
            f"{first.seconds:.2f} s | {noop.seconds:.2f} s | {first.client_cpu:.2f} / "
            f"{noop.client_cpu:.2f} s | {first.emulator_cpu:.2f} / {noop.emulator_cpu:.2f} s | "
            f"{floor(tool, 'first'):.2f} / {floor(tool, 'noop'):.2f} s"
        )

    def ratio(kind: str, measure: str = "seconds") -> str:
        return f"{getattr(b['tctl'][kind], measure) / getattr(b['kubectl'][kind], measure):.2f}x"

    def ratios(measure: str) -> str:
        return f"{ratio('first', measure)} / {ratio('noop', measure)}"

    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {_cpus()} CPUs, "
        f"Python {platform.python_version()}, {_kubectl_version()}; "
        f"{args.latency * 1000:g} ms added to every request by every emulated cluster (https); "
        f"the emulators run on the same machine as the clients, in {processes} processes; "
        f"best of {args.runs} rounds, whole processes (tctl from compiled bytecode, as installed), "
        f"fresh emulators and store for each tool in each round; the machine's 1-minute load "
        f"average at the start of each round: "
        f"{', '.join(f'{load:.1f}' for load in loads)}.",
        "",
        f"Each cluster is seeded with {min(seeded)}–{max(seeded)} objects (3 Namespaces, the "
        f"east-west gateway Service, its own Services). Over {n} clusters, {sum(generated)} "
        f"objects are applied, {min(generated)}–{max(generated)} per cluster ({kinds_text}). "
        f"After both first applies the clusters hold the same objects.",
        "",
        "| tool | command | first apply | no-op re-apply | its CPU, first / no-op | "
        f"emulators' CPU, first / no-op | CPU floor on {cpus} CPUs, first / no-op |",
        "|---|---|---|---|---|---|---|",
        f"| tctl | `tctl apply -f CONFIG` | {cells('tctl')} |",
        f"| kubectl | `kubectl apply --server-side -R -f DIR/<cluster>`, {n} at once | {cells('kubectl')} |",
        f"| **tctl / kubectl** | | **{ratio('first')}** | **{ratio('noop')}** | "
        f"{ratios('client_cpu')} | {ratios('emulator_cpu')} | "
        f"{floor('tctl', 'first') / floor('kubectl', 'first'):.2f}x / "
        f"{floor('tctl', 'noop') / floor('kubectl', 'noop'):.2f}x |",
        "",
        f"The CPU floor is the CPU a run used, the tool's and the emulators', divided by the "
        f"{cpus} CPUs they share: no schedule finishes sooner. 0.3x kubectl's first apply is "
        f"{0.3 * b['kubectl']['first'].seconds:.2f} s, against tctl's floor of "
        f"{floor('tctl', 'first'):.2f} s; 0.1x its no-op is "
        f"{0.1 * b['kubectl']['noop'].seconds:.2f} s, against {floor('tctl', 'noop'):.2f} s.",
        "",
        "Requests each cluster received, by method (a range over the clusters where they "
        "differ), their sum over the clusters, and the changes the emulators persisted:",
        "",
        "| run | " + " | ".join(METHODS) + " | requests, sum | writes |",
        "|---|" + "---|" * (len(METHODS) + 2),
    ]
    for tool in TOOLS:
        for kind, title in (("first", "first apply"), ("noop", "no-op re-apply")):
            run = b[tool][kind]
            names = scenario.clusters
            total = sum(sum(run.counts[name][m] for m in METHODS) for name in names)
            requests = " | ".join(per_cluster(run, names, m) for m in METHODS)
            lines.append(
                f"| {tool}, {title} | {requests} | {total} | {sum(run.writes[name] for name in names)} |"
            )
    return "\n".join(lines)


def _kubectl_version() -> str:
    found = subprocess.run(["kubectl", "version", "--client", "-o", "json"], capture_output=True, text=True)
    return "kubectl " + json.loads(found.stdout)["clientVersion"]["gitVersion"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=20)
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.020, help="seconds added per request")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--emulator-processes",
        type=int,
        default=EMULATOR_PROCESSES,
        help="processes the emulated clusters are spread over",
    )
    parser.add_argument(
        "--quick", action="store_true", help="5 clusters x 50 services, one round; print only"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs alone")
    args = parser.parse_args()
    if args.quick:
        args.clusters, args.services, args.runs, args.no_write = 5, 50, 1, True
    if args.clusters < 2 or args.services < 2 * args.clusters:
        parser.error("need at least 2 clusters and twice as many Services as clusters")
    if shutil.which("kubectl") is None:
        parser.error("kubectl is not on PATH")

    # tctl runs from this tree's sources (PYTHONPATH): compile them first, as installing a package
    # does. Otherwise, with PYTHONDONTWRITEBYTECODE set, every run compiles the ~90 modules it
    # imports again (0.4 s of CPU per run on the 2-CPU machine of docs/performance.md).
    compileall.compile_dir(ROOT / "tctl_py", quiet=1)
    scenario = make_scenario(args.clusters, args.services)
    best: dict[str, dict[str, Run]] = {tool: {} for tool in TOOLS}
    loads = []  # other work on the machine takes CPU from both tools: say how much there was
    for r in range(args.runs):
        loads.append(os.getloadavg()[0])
        print(f"round {r + 1} of {args.runs} (load average {loads[-1]:.1f})", file=sys.stderr)
        one_round(args, scenario, best)
    text = report(args, scenario, best, loads)
    print(text)
    if not args.no_write:
        write_section(ROOT / "docs" / "performance.md", "apply-bench", text)


if __name__ == "__main__":
    main()

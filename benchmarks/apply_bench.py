"""Apply the configuration of 200 exposed Services to 20 emulated clusters, against one cluster.

Each cluster is an emulated Kubernetes API server (tests/support: kmock behind aiohttp on
127.0.0.1) that adds `--latency` (20 ms) to every request. tctl runs as a whole process with
KUBECONFIG pointing at the emulators. The emulators run on the same machine, in
`--emulator-processes` (4) processes started by this script, clusters spread round robin (see
EMULATOR_PROCESSES for why not one).

Three runs, each with fresh emulators and a fresh store, best of `--runs` rounds, interleaved:

* 20 clusters: `tctl apply -f CONFIG` (first apply), then the same again (no-op).
* one cluster's share: the same 20-cluster fleet and configuration, stored first (untimed, with
  `apply --no-sync`, which sends no request), then `tctl sync --cluster cluster-00` (first) and
  again (no-op). It reads the state of all 20 clusters (the engine needs it) but plans and writes
  cluster-00 only: the same objects and requests as cluster-00 gets in the 20-cluster run.
* one cluster alone: a fleet of just cluster-00 (same Services, one Cluster object),
  `tctl apply -f CONFIG` twice. With no other cluster nothing is remote, so it generates one
  Gateway: it measures start-up and reading, not a comparable amount of work.

Requests are counted by the emulators per cluster and HTTP method; writes are the changes they
persisted. The no-op runs must persist nothing and send no write request. The numbers are written
to docs/performance.md between the `apply-bench` markers.

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
import json
import multiprocessing
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
import types
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work" / "apply"
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from validate_bench import _cpus, write_section

import tests.support.emulator
from tests.support import EmulatedFleet

NAMESPACE = "bench"
GATEWAY = "eastwest-gateway"
TEST_NETS = ("192.0.2", "198.51.100", "203.0.113")  # RFC 5737: documentation addresses
METHODS = ("GET", "PATCH", "POST", "PUT", "DELETE")
REQUEST_LOG = 2  # requests each emulator keeps in kmock's log (see Emulated)
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


def make_scenario(clusters: int, services: int, only: int | None = None) -> Scenario:
    """The placement over `clusters` clusters; with `only`, keep that one cluster alone (same
    objects as it has in the full fleet, one Cluster object)."""
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
    kept = range(clusters) if only is None else [only]
    names = [cluster_name(c) for c in kept]
    objects = {
        cluster_name(c): [
            _namespace("default"),
            _namespace("istio-system"),
            _namespace(NAMESPACE),
            _gateway_service(c),
            *placed[c],
        ]
        for c in kept
    }

    expected: dict[str, collections.Counter] = {}
    for d in kept:
        count: collections.Counter = collections.Counter()
        for where in where_of.values():
            remote = [c for c in where if c != d and c in kept]
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
            for c in kept
        ),
    ]
    return Scenario(names, objects, config, expected)


# ---------------------------------------------------------------------------------------------
# Emulator processes

# The emulators are the test harness's (tests/support): kmock behind aiohttp, every cluster of an
# EmulatedFleet served by one event-loop thread. A real fleet has an API server per cluster; one
# thread serving 20 clusters (~1 ms of CPU per request) queues their requests behind each other,
# and it, not tctl, set the pace (20 clusters: 11.2 s on one thread, 7.3 s over 4 processes).
# So the clusters are spread over a few processes, each with its own EmulatedFleet.
EMULATOR_PROCESSES = 4


def _load_body(text: str) -> object:
    """An apply patch (YAML; tctl sends JSON, which is YAML) as the emulators' parser reads it."""
    try:
        return json.loads(text)
    except ValueError:
        return yaml.load(text, Loader=yaml.CSafeLoader)


# The emulators parse apply-patch bodies with pure-Python PyYAML: a third of their CPU time here.
# (Module level, so that it holds in the emulator processes, which import this module.)
tests.support.emulator.yaml = types.SimpleNamespace(safe_load=_load_body, YAMLError=yaml.YAMLError)


def _serve(conn, objects: dict[str, list[dict]], directory: str, latency: float) -> None:
    """An emulator process: these clusters, then answer commands until "close"."""
    fleet = EmulatedFleet(directory)
    try:
        for name, seeded in objects.items():
            cluster = fleet.add_cluster(name, objects=seeded)
            cluster.latency = latency
            # kmock matches every request against its whole request log (each reaction scans
            # it), so an emulator's cost per request grows with the requests it has served.
            # Keep the log short; the counts by method are kept apart and stay exact.
            fleet.call(setattr, cluster.emulator, "_requests", collections.deque(maxlen=REQUEST_LOG))
        conn.send({name: (c.server, c.token) for name, c in fleet.clusters.items()})
        while (command := conn.recv()) != "close":
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
    tctl_cpu: float  # CPU seconds (user + system) of the tctl process
    stdout: str


class Emulated:
    """A scenario's clusters on fresh emulators (spread over up to `processes` processes), a
    fresh store and a kubeconfig reaching them, and tctl run against them."""

    def __init__(
        self, scenario: Scenario, directory: Path, latency: float, processes: int = EMULATOR_PROCESSES
    ) -> None:
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        self.scenario = scenario
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
        endpoints = {}
        for conn in self.conns:
            endpoints.update(conn.recv())
        self.config = directory / "config.yaml"
        self.config.write_text(yaml.safe_dump_all(scenario.config, sort_keys=False))
        kubeconfig = directory / "kubeconfig.yaml"
        kubeconfig.write_text(yaml.safe_dump(_kubeconfig(scenario.clusters, endpoints), sort_keys=False))
        self.env = dict(
            os.environ,
            KUBECONFIG=str(kubeconfig),
            TCTL_STORE=str(directory / "store.db"),
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

    def tctl(self, *args: str, expect: int = 0) -> Run:
        _, _, cpu = self._ask("reset")
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        result = subprocess.run([str(BIN / "tctl"), *args], env=self.env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)  # CPU times add up: a delta is fine
        tctl_cpu = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
        counts, writes, cpu_after = self._ask("stats")
        if result.returncode != expect or "warning" in result.stderr.lower():
            sys.exit(
                f"tctl {' '.join(args)}: exit code {result.returncode} (expected {expect})\n"
                f"{result.stderr[-3000:]}"
            )
        return Run(elapsed, counts, writes, cpu_after - cpu, tctl_cpu, result.stdout)


def _kubeconfig(names: list[str], endpoints: dict[str, tuple[str, str]]) -> dict:
    """One context (cluster + token user) per emulated cluster, as EmulatedFleet writes them."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": {"server": endpoints[n][0]}} for n in names],
        "users": [{"name": f"{n}-admin", "user": {"token": endpoints[n][1]}} for n in names],
        "contexts": [
            {"name": n, "context": {"cluster": n, "user": f"{n}-admin", "namespace": "default"}}
            for n in names
        ],
        "current-context": names[0],
        "preferences": {},
    }


def check_first(scenario: Scenario, run: Run, targets: list[str]) -> None:
    """The first apply created exactly the objects the placement implies, in each target."""
    created: dict[str, collections.Counter] = {name: collections.Counter() for name in targets}
    kinds = {kind.lower(): kind for kind in GENERATED_KINDS}
    for line in run.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == "created" and parts[0] in created:
            created[parts[0]][kinds[parts[1].split("/")[0].split(".")[0]]] += 1
    for name in targets:
        if created[name] != scenario.expected[name]:
            sys.exit(
                f"{name}: the first apply created {dict(created[name])}, expected "
                f"{dict(scenario.expected[name])}"
            )
        if run.writes[name] != scenario.generated(name) or run.counts[name]["PATCH"] != run.writes[name]:
            sys.exit(
                f"{name}: {run.writes[name]} changes persisted with {run.counts[name]['PATCH']} "
                f"PATCH requests, expected {scenario.generated(name)} of each (no retries)"
            )


def check_noop(run: Run) -> None:
    for name, counts in run.counts.items():
        if run.writes[name] or any(counts[m] for m in METHODS if m != "GET"):
            sys.exit(f"{name}: the no-op re-apply wrote: {dict(counts)}, {run.writes[name]} changes")
    if "created" in run.stdout or "configured" in run.stdout or "pruned" in run.stdout:
        sys.exit("the no-op re-apply reports changes:\n" + run.stdout[:2000])


# ---------------------------------------------------------------------------------------------
# The benchmark

CASES = ("alone", "share", "fleet")


def one_round(
    args: argparse.Namespace, scenarios: dict[str, Scenario], best: dict[str, dict[str, Run]]
) -> None:
    first_cluster = cluster_name(0)
    for case in CASES:
        scenario = scenarios[case]
        with Emulated(scenario, WORK / case, args.latency, args.emulator_processes) as emulated:
            config = str(emulated.config)
            if case == "share":
                emulated.tctl("apply", "--no-sync", "-f", config)
                command = ["sync", "--cluster", first_cluster]
                targets = [first_cluster]
            else:
                command = ["apply", "-f", config]
                targets = scenario.clusters
            first = emulated.tctl(*command)
            check_first(scenario, first, targets)
            noop = emulated.tctl(*command)
            check_noop(noop)
        for kind, run in (("first", first), ("noop", noop)):
            if kind not in best[case] or run.seconds < best[case][kind].seconds:
                best[case][kind] = run
        print(
            f"  {case}: first {first.seconds:.2f} s (tctl CPU {first.tctl_cpu:.2f} s, emulators "
            f"{first.emulator_cpu:.2f} s), no-op {noop.seconds:.2f} s (tctl CPU "
            f"{noop.tctl_cpu:.2f} s, emulators {noop.emulator_cpu:.2f} s)",
            file=sys.stderr,
        )


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


def report(args: argparse.Namespace, scenarios: dict[str, Scenario], best: dict[str, dict[str, Run]]) -> str:
    fleet, alone = scenarios["fleet"], scenarios["alone"]
    first_cluster = cluster_name(0)
    n = len(fleet.clusters)
    others = [name for name in fleet.clusters if name != first_cluster]
    seeded = [fleet.seeded(name) for name in fleet.clusters]
    generated = [fleet.generated(name) for name in fleet.clusters]
    kinds_total = sum((fleet.expected[name] for name in fleet.clusters), collections.Counter())
    kinds_text = ", ".join(_count(kinds_total[k], k) for k in GENERATED_KINDS if kinds_total[k])
    mine = fleet.expected[first_cluster]
    mine_text = ", ".join(_count(mine[k], k) for k in GENERATED_KINDS if mine[k])
    b = best
    processes = min(args.emulator_processes, n)

    def seconds(case: str, kind: str) -> str:
        run = b[case][kind]
        return f"{run.seconds:.2f} s"

    def cpu(case: str) -> str:
        return (
            f"{b[case]['first'].tctl_cpu:.2f} / {b[case]['noop'].tctl_cpu:.2f} s | "
            f"{b[case]['first'].emulator_cpu:.2f} / {b[case]['noop'].emulator_cpu:.2f} s"
        )

    def ratio(kind: str, over: str) -> str:
        return f"{b['fleet'][kind].seconds / b[over][kind].seconds:.2f}x"

    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {_cpus()} CPUs, "
        f"Python {platform.python_version()}; {args.latency * 1000:g} ms added to every request "
        f"by every emulated cluster; the emulators run on the same machine as tctl, in "
        f"{processes} processes ({n} clusters) or 1 (one cluster alone); best of {args.runs} "
        f"rounds, whole processes, fresh emulators and store for each round.",
        "",
        f"Each cluster is seeded with {min(seeded)}–{max(seeded)} objects (3 Namespaces, the "
        f"east-west gateway Service, its own Services). Over {n} clusters, tctl generates "
        f"{min(generated)}–{max(generated)} objects per cluster, {sum(generated)} in all "
        f"({kinds_text}); cluster-00 gets {fleet.generated(first_cluster)} ({mine_text}). "
        f"*One cluster's share* writes exactly those {fleet.generated(first_cluster)} objects "
        f"to cluster-00 and nothing elsewhere, after reading the state of all {n} clusters. "
        f"*One cluster alone* ({alone.seeded(first_cluster)} seeded objects) generates "
        f"{alone.generated(first_cluster)} object, its Gateway: nothing is remote.",
        "",
        "| run | command | first apply | no-op re-apply | tctl CPU, first / no-op | "
        "emulators' CPU, first / no-op |",
        "|---|---|---|---|---|---|",
        f"| one cluster alone | `tctl apply -f CONFIG` | {seconds('alone', 'first')} | "
        f"{seconds('alone', 'noop')} | {cpu('alone')} |",
        f"| one cluster's share of {n} | `tctl sync --cluster cluster-00` | "
        f"{seconds('share', 'first')} | {seconds('share', 'noop')} | {cpu('share')} |",
        f"| {n} clusters | `tctl apply -f CONFIG` | {seconds('fleet', 'first')} | "
        f"{seconds('fleet', 'noop')} | {cpu('fleet')} |",
        f"| **{n} clusters / one cluster's share** | | **{ratio('first', 'share')}** | "
        f"**{ratio('noop', 'share')}** | | |",
        f"| {n} clusters / one cluster alone | | {ratio('first', 'alone')} | {ratio('noop', 'alone')} | | |",
        "",
        "Requests each cluster received, by method (a range over the clusters where they "
        "differ), their sum over those clusters, and the changes the emulators persisted:",
        "",
        "| run | clusters | " + " | ".join(METHODS) + " | requests, sum | writes |",
        "|---|---|" + "---|" * (len(METHODS) + 2),
    ]

    def row(label: str, run: Run, names: list[str], who: str) -> str:
        total = sum(sum(run.counts[name][m] for m in METHODS) for name in names)
        cells = " | ".join(per_cluster(run, names, m) for m in METHODS)
        return f"| {label} | {who} | {cells} | {total} | {sum(run.writes[name] for name in names)} |"

    for kind, title in (("first", "first apply"), ("noop", "no-op re-apply")):
        lines += [
            row(f"one cluster alone, {title}", b["alone"][kind], [first_cluster], "cluster-00"),
            row(f"one cluster's share, {title}", b["share"][kind], [first_cluster], "cluster-00"),
            row(f"one cluster's share, {title}", b["share"][kind], others, f"the other {n - 1}"),
            row(f"{n} clusters, {title}", b["fleet"][kind], fleet.clusters, f"all {n}"),
        ]
    return "\n".join(lines)


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

    scenarios = {
        "fleet": make_scenario(args.clusters, args.services),
        "alone": make_scenario(args.clusters, args.services, only=0),
    }
    scenarios["share"] = scenarios["fleet"]
    best: dict[str, dict[str, Run]] = {case: {} for case in CASES}
    for r in range(args.runs):
        print(f"round {r + 1} of {args.runs}", file=sys.stderr)
        one_round(args, scenarios, best)
    text = report(args, scenarios, best)
    print(text)
    if not args.no_write:
        write_section(ROOT / "docs" / "performance.md", "apply-bench", text)


if __name__ == "__main__":
    main()

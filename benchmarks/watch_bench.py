"""`tctl sync --watch` on 20 emulated clusters with 200 exposed Services: how long from a Service
change to the last write it causes, how many events per second the loop keeps up with, and what
an idle loop costs.

The fleet and configuration are apply_bench's (Service i in cluster i mod 20, every fourth also in
a second cluster; every cluster an origin and a consumer), on emulated API servers (tests/support)
spread over `--emulator-processes` processes, each adding `--latency` to every request and sending
a watch BOOKMARK every 60 s (as a real API server does about every minute; the test default of 1 s
would wake every watch every second). The configuration is applied first (untimed), then
`tctl sync --watch` runs as a whole process (default --debounce 0.5) until the end, then SIGTERM.

* **latency**: `--changes` times, one Service gets another port (a change behind the API server,
  as another writer's would be). It changes the ServiceEntry of that Service in every cluster that
  consumes it. The time is from just before the change to the last write the emulators persisted
  (their clocks are the machine's monotonic clock), once no write came for 1 s; every consumer
  cluster must have been written. p50 and p99 (of so few samples: the largest but the top 1%).
* **events per second**: `--events` changes that do not change what tctl generates (an annotation
  on exposed Services, all clusters at once), then one that does: events per second from the
  first change to that change's last write, and how long after the last event that write came.
* **idle**: CPU time of the tctl process over `--idle` seconds with nothing changing, as a share
  of one core, and its resident memory (VmRSS, VmHWM) at the end.

    .venv/bin/python benchmarks/watch_bench.py [--clusters 20] [--services 200] [--changes 30]
    .venv/bin/python benchmarks/watch_bench.py --quick     # 5 x 50, print only

The numbers go to docs/performance.md between the `watch-bench` markers.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work" / "watch"
TCTL = [sys.executable, "-m", "tctl_py"]  # this checkout's tctl (PYTHONPATH below)
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from apply_bench import EMULATOR_PROCESSES, NAMESPACE, Scenario, make_scenario
from validate_bench import _cpus, write_section

from tests.support import ClusterEmulator, EmulatedFleet

BOOKMARK_INTERVAL = 60.0  # seconds, about what a real API server sends
QUIET = 1.0  # seconds without a write after which a change is taken as fully written


def _serve(conn, objects: dict[str, list[dict]], directory: str, latency: float) -> None:
    """An emulator process: these clusters, the time of each one's last write (seeds are not
    writes), then commands until "close"."""
    fleet = EmulatedFleet(directory)
    last: dict[str, float] = {}
    writes: collections.Counter = collections.Counter()
    seeding = [True]
    name_of: dict[int, str] = {}
    record = ClusterEmulator._record

    def recording(emulator, rdef, kind, obj, before) -> None:
        if not seeding[0]:
            name = name_of.get(id(emulator), "")
            last[name] = time.monotonic()
            writes[name] += 1
        record(emulator, rdef, kind, obj, before)

    ClusterEmulator._record = recording  # in this process only: what was written, and when
    try:
        for name, seeded in objects.items():
            cluster = fleet.add_cluster(name, objects=seeded)
            cluster.latency = latency
            name_of[id(cluster.emulator)] = name
            fleet.call(setattr, cluster.emulator, "bookmark_interval", BOOKMARK_INTERVAL)
        seeding[0] = False
        conn.send(yaml.safe_load(fleet.write_kubeconfig().read_text()))  # its clusters' contexts
        while (command := conn.recv()) != "close":
            op, *args = command
            if op in ("port", "annotate"):

                def change(op=op, args=args) -> None:
                    seeding[0] = True
                    try:
                        for cluster_name, service_name, value in args[0]:
                            emulator = fleet.clusters[cluster_name].emulator
                            body = emulator.get_object("Service", service_name, NAMESPACE)
                            if op == "port":
                                body["spec"]["ports"] = [dict(body["spec"]["ports"][0], port=value)]
                            else:
                                body["metadata"].setdefault("annotations", {})["bench"] = str(value)
                            emulator.seed(body)
                    finally:
                        seeding[0] = False

                fleet.call(change)
            conn.send((dict(writes), dict(last)))
    finally:
        fleet.close()


class Fleet:
    """The scenario's clusters over a few emulator processes, and a kubeconfig reaching them."""

    def __init__(self, scenario: Scenario, directory: Path, latency: float, processes: int) -> None:
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        context = multiprocessing.get_context("spawn")
        groups = [scenario.clusters[i::processes] for i in range(min(processes, len(scenario.clusters)))]
        self.conns, self.processes, self.where = [], [], {}
        for i, names in enumerate(groups):
            parent, child = context.Pipe()
            objects = {name: scenario.objects[name] for name in names}
            process = context.Process(
                target=_serve, daemon=True, args=(child, objects, str(directory / f"emulators-{i}"), latency)
            )
            process.start()
            self.conns.append(parent)
            self.processes.append(process)
            self.where.update(dict.fromkeys(names, parent))
        merged: dict = {"clusters": [], "users": [], "contexts": []}
        for conn in self.conns:  # each process's kubeconfig, its contexts merged into one
            part = conn.recv()
            for key in ("clusters", "users", "contexts"):
                merged[key] += part[key]
            merged = {**part, **merged}
        merged["current-context"] = scenario.clusters[0]
        self.config = directory / "config.yaml"
        self.config.write_text(yaml.safe_dump_all(scenario.config, sort_keys=False))
        kubeconfig = directory / "kubeconfig.yaml"
        kubeconfig.write_text(yaml.safe_dump(merged, sort_keys=False))
        self.env = dict(
            os.environ,
            KUBECONFIG=str(kubeconfig),
            TCTL_STORE=str(directory / "store.db"),
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
            PYTHONPATH=str(ROOT),
        )

    def close(self) -> None:
        for conn in self.conns:
            conn.send("close")
        for process in self.processes:
            process.join(10)

    def send(self, op: str, changes: list[tuple[str, str, object]]) -> None:
        """Make `changes` (cluster, Service, value) in their emulators, all processes at once."""
        by_conn: dict = collections.defaultdict(list)
        for change in changes:
            by_conn[self.where[change[0]]].append(change)
        for conn in self.conns:
            conn.send((op, by_conn.get(conn, [])))
        for conn in self.conns:
            conn.recv()

    def stats(self) -> tuple[dict[str, int], dict[str, float]]:
        writes: dict[str, int] = {}
        last: dict[str, float] = {}
        for conn in self.conns:
            conn.send(("stats",))
        for conn in self.conns:
            some_writes, some_last = conn.recv()
            writes.update(some_writes)
            last.update(some_last)
        return writes, last

    def settle(
        self, since: dict[str, int], expect: list[str] = (), timeout: float = 60.0
    ) -> tuple[dict[str, int], dict[str, float]]:
        """Wait until every cluster of `expect` was written, then until no write came for QUIET
        seconds; (writes per cluster since `since`, last write times)."""
        deadline = time.monotonic() + timeout
        writes, last = self.stats()
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < QUIET or any(
            writes.get(n, 0) == since.get(n, 0) for n in expect
        ):
            if time.monotonic() > deadline:
                sys.exit(f"the fleet never settled: {self.stats()[0]}")
            time.sleep(0.05)
            now, last = self.stats()
            if now != writes:
                writes, quiet_since = now, time.monotonic()
        return {name: n - since.get(name, 0) for name, n in writes.items() if n != since.get(name, 0)}, last


def consumers(scenario: Scenario, service: str) -> list[str]:
    """The clusters that get a ServiceEntry for `service`: those where it does not run."""
    origins = {
        name
        for name, objects in scenario.objects.items()
        if any(o["metadata"]["name"] == service for o in objects)
    }
    return [name for name in scenario.clusters if name not in origins], sorted(origins)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory(pid: int) -> dict[str, int]:
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) // 1024  # MiB
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(address: str, process: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"tctl sync --watch ended: see {WORK / 'watch.log'}")
        try:
            with urllib.request.urlopen(f"http://{address}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("tctl sync --watch never became ready")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=20)
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.020, help="seconds added per request")
    parser.add_argument("--changes", type=int, default=30, help="Service changes timed")
    parser.add_argument("--events", type=int, default=1500, help="events of the throughput run")
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle measured")
    parser.add_argument("--emulator-processes", type=int, default=EMULATOR_PROCESSES)
    parser.add_argument("--quick", action="store_true", help="5 clusters x 50 services; print only")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs alone")
    args = parser.parse_args()
    if args.quick:
        args.clusters, args.services, args.changes, args.events, args.idle, args.no_write = (
            5,
            50,
            5,
            200,
            5,
            True,
        )

    load_before = os.getloadavg()[0]
    scenario = make_scenario(args.clusters, args.services)
    fleet = Fleet(scenario, WORK, args.latency, args.emulator_processes)
    watching = None
    try:
        applied = subprocess.run(
            [*TCTL, "apply", "-f", str(fleet.config)], env=fleet.env, capture_output=True, text=True
        )
        if applied.returncode != 0:
            sys.exit(f"tctl apply failed: {applied.stderr[-2000:]}")
        address = f"127.0.0.1:{free_port()}"
        log = (WORK / "watch.log").open("w")  # its lines: one per write and cluster state change
        watching = subprocess.Popen(
            [*TCTL, "sync", "--watch", "--health-addr", address, "--log-format", "json"],
            env=fleet.env,
            stdout=log,
            stderr=log,
        )
        started = time.monotonic()
        wait_ready(address, watching)
        ready_after = time.monotonic() - started
        # the apply left the fleet converged: the loop's first reconcile writes nothing
        before, _ = fleet.stats()
        startup_writes, _ = fleet.settle(before)
        print(
            f"ready and settled after {time.monotonic() - started:.1f} s; writes {startup_writes}",
            file=sys.stderr,
        )

        # idle
        idle_before, _ = fleet.stats()
        before_cpu, before_at = cpu_seconds(watching.pid), time.monotonic()
        time.sleep(args.idle)
        idle_share = (cpu_seconds(watching.pid) - before_cpu) / (time.monotonic() - before_at)
        if fleet.stats()[0] != idle_before:
            sys.exit("writes while idle")

        # latency of one change
        latencies: list[float] = []
        written_per_change: list[int] = []
        services = [f"svc-{i:03d}" for i in range(0, args.services, max(1, args.services // args.changes))]
        for k, service in enumerate(services[: args.changes]):
            targets, origins = consumers(scenario, service)
            counts, _ = fleet.stats()
            at = time.monotonic()
            fleet.send("port", [(origin, service, 9000 + k) for origin in origins])
            written, last = fleet.settle(counts, targets)
            missing = [name for name in targets if name not in written]
            if missing:
                sys.exit(f"{service}: no write in {missing}")
            latencies.append(max(last[name] for name in written) - at)
            written_per_change.append(sum(written.values()))
            print(f"  {service}: {latencies[-1]:.3f} s, {written_per_change[-1]} writes", file=sys.stderr)

        # throughput
        counts, _ = fleet.stats()
        exposed = [(name, o["metadata"]["name"]) for name, objects in scenario.objects.items() for o in objects
                   if o["kind"] == "Service" and o["metadata"]["name"].startswith("svc-")]  # fmt: skip
        burst = [
            (cluster, service, n)
            for n in range(args.events)
            for cluster, service in [exposed[n % len(exposed)]]
        ]
        final_service = services[0]
        _, origins = consumers(scenario, final_service)
        at = time.monotonic()
        for start in range(0, len(burst), 200):
            fleet.send("annotate", burst[start : start + 200])
        events_done = time.monotonic()
        fleet.send("port", [(origin, final_service, 8080) for origin in origins])
        written, last = fleet.settle(counts, consumers(scenario, final_service)[0])
        last_write = max(last[name] for name in written)
        rate = (args.events + 1) / (last_write - at)
        lag = last_write - events_done
        sent_rate = args.events / (events_done - at)
        rss = memory(watching.pid)
    finally:
        if watching is not None and watching.poll() is None:
            stopping = time.monotonic()
            watching.send_signal(signal.SIGTERM)
            code = watching.wait(30)
            print(f"SIGTERM: exit {code} after {time.monotonic() - stopping:.2f} s", file=sys.stderr)
        fleet.close()

    per_change = collections.Counter(written_per_change)
    text = "\n".join(
        [
            f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {_cpus()} CPUs, Python "
            f"{platform.python_version()}; {args.clusters} clusters, {args.services} exposed Services, "
            f"{args.latency * 1000:g} ms added to every request, the emulators in "
            f"{min(args.emulator_processes, args.clusters)} processes on the same machine; "
            f"`tctl sync --watch` with the default --debounce 0.5. Load average (1 min) "
            f"{load_before:.1f} before the run, {os.getloadavg()[0]:.1f} after it: the machine "
            "also ran other work.",
            "",
            "| measure | result |",
            "|---|---|",
            f"| start-up: `/readyz` answers 200 | {ready_after:.1f} s |",
            f"| Service change → last resulting write, p50 | {statistics.median(latencies):.2f} s |",
            f"| Service change → last resulting write, p99 ({len(latencies)} changes) | "
            f"{percentile(latencies, 0.99):.2f} s |",
            f"| writes per change | {', '.join(f'{n} ({c}x)' for n, c in sorted(per_change.items()))} |",
            f"| events per second, {args.events} events then one change, to its last write | {rate:.0f} |",
            f"| (the emulators sent them at) | {sent_rate:.0f} / s |",
            f"| last write after the last event | {lag:.2f} s |",
            f"| idle CPU over {args.idle:g} s | {idle_share * 100:.2f}% of a core |",
            f"| memory at the end (RSS / peak) | {rss.get('VmRSS', 0)} / {rss.get('VmHWM', 0)} MiB |",
        ]
    )
    print(text)
    if not args.no_write:
        write_section(ROOT / "docs" / "performance.md", "watch-bench", text)


if __name__ == "__main__":
    main()

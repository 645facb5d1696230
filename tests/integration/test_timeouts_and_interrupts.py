"""Timeouts and Ctrl-C end to end: tctl as a real process, emulated clusters over real HTTP.

`--request-timeout` bounds one request (never a cluster's requests together); `--cluster-timeout`
is a separate budget, off by default; a dead context costs one connect timeout and says how to
leave it out. SIGINT/SIGTERM while writing: no new writes, in-flight ones finish or time out,
the report says what was and was not done, exit 130; a second Ctrl-C exits at once.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import EmulatedFleet
from tests.support.cli import ROOT, STEP, SUMMARY, Ran, example_objects

pytestmark = pytest.mark.integration

CONFIG = ROOT / "examples" / "bookinfo" / "config"
CLUSTERS = ("cluster-1", "cluster-2", "cluster-3")


@pytest.fixture()
def fleet(emulated: EmulatedFleet) -> EmulatedFleet:
    """cluster-1..3 serving the example's Namespaces and Services."""
    for name in CLUSTERS:
        emulated.add_cluster(name, objects=example_objects(name)).reset_counts()  # seeding is no write
    return emulated


@pytest.fixture()
def env(fleet: EmulatedFleet, tmp_path: Path) -> dict[str, str]:
    """The environment of a tctl process reaching the emulated fleet, with its own store."""
    kubeconfig = fleet.write_kubeconfig(fleet.directory / "kubeconfig.yaml", current_context="cluster-1")
    no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY", ""), "127.0.0.1", "localhost"]))
    return {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "TCTL_STORE": str(tmp_path / "store.db"),
        "NO_PROXY": no_proxy,
        "no_proxy": no_proxy,
    }


def start(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tctl_py", *args],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def run(env: dict[str, str], *args: str) -> Ran:
    done = subprocess.run(
        [sys.executable, "-m", "tctl_py", *args],
        cwd=ROOT,
        env=env,
        text=True,
        capture_output=True,
        timeout=60,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return Ran(done.returncode, done.stdout, done.stderr)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def finish(process: subprocess.Popen, timeout: float = 30) -> tuple[Ran, float]:
    """The process's exit code and output, and how long after this call it exited."""
    started = time.monotonic()
    stdout, stderr = process.communicate(timeout=timeout)
    return Ran(process.returncode, stdout, stderr), time.monotonic() - started


def outcomes(ran: Ran) -> dict[str, list[str]]:
    """Per cluster, the outcome of each object line, in order."""
    found: dict[str, list[str]] = {}
    for line in ran.stdout.splitlines():
        match = STEP.match(line)
        if match:
            found.setdefault(match["cluster"], []).append(match["outcome"])
    return found


# --- timeouts ------------------------------------------------------------------------------------


def test_requests_slower_together_than_the_request_timeout_pass(fleet, env):
    """Three lists answering in 0.4 s each with --request-timeout 1: the cluster is read."""
    fleet["cluster-2"].latency = 0.4
    ran = run(env, "clusters", "--request-timeout", "1")
    assert ran.exit_code == 0, ran.stderr
    assert re.search(r"^cluster-2\s.*\syes\s", ran.stdout, re.MULTILINE), ran.stdout
    assert fleet["cluster-2"].counts["GET"] == 3


def test_a_retry_after_longer_than_the_cluster_budget_says_so(fleet, env):
    fleet["cluster-2"].fail(429, method="GET", retry_after=30)
    started = time.monotonic()
    ran = run(env, "clusters", "--cluster-timeout", "12")
    assert time.monotonic() - started < 10  # not waited for
    assert ran.exit_code == 4, ran.stderr
    assert re.search(
        r"cluster-2: .*HTTP 429 .*\(after 1 attempt\(s\); the server asked to retry after "
        r"30 s, more than the 1\d(\.\d+)? s left of the 12 s allowed for this cluster "
        r"\(--cluster-timeout\)\)",
        ran.stderr,
    ), ran.stderr


def test_a_dead_context_costs_one_connect_timeout_and_says_how_to_leave_it_out(fleet, env):
    fleet.add_blackhole_cluster("cluster-4")
    env["KUBECONFIG"] = str(
        fleet.write_kubeconfig(fleet.directory / "with-dead.yaml", current_context="cluster-1")
    )
    started = time.monotonic()
    ran = run(env, "sync", "--request-timeout", "1")
    elapsed = time.monotonic() - started
    assert ran.exit_code == 4, ran.stderr
    server = re.escape(fleet["cluster-4"].server)
    assert re.search(
        rf"^error: cluster cluster-4: could not be read: cannot connect to {server}: no "
        r"connection within 1 s \(listing namespaces\) \(.*if \"cluster-4\" is not one, "
        r"apply Cluster objects naming those that are",
        ran.stderr,
        re.MULTILINE,
    ), ran.stderr
    assert elapsed < 1 + 4, elapsed  # one connect timeout, not retried, plus tctl's own start


# --- Ctrl-C and SIGTERM --------------------------------------------------------------------------


def interrupted_apply(fleet: EmulatedFleet, env: dict[str, str], request_timeout: float) -> subprocess.Popen:
    """`tctl apply` with cluster-2's writes hanging, once cluster-2's first write is in flight."""
    fleet["cluster-2"].delay(600, method="PATCH")
    process = start(env, "apply", "-f", str(CONFIG), "--request-timeout", str(request_timeout))
    wait_for(
        lambda: fleet["cluster-2"].counts["PATCH"] >= 1 or process.poll() is not None,
        "cluster-2's first write",
    )
    assert process.poll() is None, process.communicate()
    return process


def assert_reported_what_was_and_was_not_done(ran: Ran, fleet: EmulatedFleet) -> None:
    """Every cluster's lines: what was written ("created"), then the writes that failed in
    flight (at most --concurrency, 8), then "not done"; and the clusters hold exactly what the
    lines say was written."""
    assert ran.exit_code == 130, ran.stderr
    assert "Traceback" not in ran.stderr, ran.stderr
    lines = [
        STEP.match(line)
        for line in ran.stdout.splitlines()
        if line.startswith("cluster-") and not SUMMARY.match(line)
    ]
    assert lines and all(lines), ran.stdout
    for name in CLUSTERS:
        mine = [m for m in lines if m["cluster"] == name]
        sequence = "".join({"created": "c", "failed": "f", "not done": "n"}[m["outcome"]] for m in mine)
        assert re.fullmatch(r"c*f{0,8}n*", sequence), ran.stdout
        for match in mine:
            kind, object_name = match["label"].split(".", 1)[0].split("/")[0], match["label"].split("/", 1)[1]
            written = object_name in {o["metadata"]["name"] for o in fleet[name].list(kind)}
            assert written == (match["outcome"] == "created"), (name, match.group(0))
    # cluster-2's first wave hung (its Gateway and DestinationRules): those writes failed (timed
    # out, not retried), the rest were not started
    cluster_2 = [m["outcome"] for m in lines if m["cluster"] == "cluster-2"]
    in_flight = fleet["cluster-2"].counts["PATCH"]
    assert in_flight == 3, ran.stdout
    assert cluster_2[:in_flight] == ["failed"] * in_flight, ran.stdout
    assert set(cluster_2[in_flight:]) == {"not done"}, ran.stdout
    not_done = len(cluster_2) - in_flight
    assert re.search(
        rf"^error: cluster cluster-2: no answer from \S+ within \S+ s \(applying .*\) "
        rf"\(not tried again: interrupted\); interrupted: {not_done} of {len(cluster_2)} "
        r"writes not done; run again to converge$",
        ran.stderr,
        re.MULTILINE,
    ), ran.stderr
    assert ran.stderr.rstrip().endswith(
        'interrupted: objects reported "not done" were not written; run tctl sync to finish'
    ), ran.stderr


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_new_writes_and_reports_what_was_not_done(fleet, env, signal_number):
    process = interrupted_apply(fleet, env, request_timeout=2)
    process.send_signal(signal_number)
    ran, elapsed = finish(process)
    assert elapsed < 2 + 1, (elapsed, ran.stderr)  # within the request timeout
    assert_reported_what_was_and_was_not_done(ran, fleet)
    word = "interrupted" if signal_number == signal.SIGINT else "terminated (SIGTERM)"
    assert f"{word}: starting no new writes" in ran.stderr, ran.stderr

    # the store holds the configuration: a sync finishes the job
    fleet["cluster-2"].clear_faults()
    again = run(env, "sync")
    assert again.exit_code == 0, again.stderr
    assert "created" in outcomes(again)["cluster-2"]


def test_a_second_ctrl_c_exits_at_once(fleet, env):
    process = interrupted_apply(fleet, env, request_timeout=10)
    process.send_signal(signal.SIGINT)
    time.sleep(0.3)
    assert process.poll() is None  # still waiting for the hung write
    process.send_signal(signal.SIGINT)
    ran, elapsed = finish(process)
    assert elapsed < 1, elapsed
    assert ran.exit_code == 130
    assert "interrupted again: quitting without waiting for writes in flight" in ran.stderr, ran.stderr


def test_ctrl_c_before_any_write_exits_at_once(fleet, env):
    """A read in flight is abandoned: nothing has been written, so nothing is waited for."""
    fleet["cluster-2"].delay(600, method="GET")
    process = start(env, "apply", "-f", str(CONFIG), "--request-timeout", "10")
    wait_for(lambda: fleet["cluster-2"].counts["GET"] >= 1, "cluster-2's first read")
    process.send_signal(signal.SIGINT)
    ran, elapsed = finish(process)
    assert elapsed < 1, elapsed
    assert ran.exit_code == 130 and ran.stderr.rstrip().endswith("interrupted"), ran.stderr
    assert all(fleet[name].writes == 0 for name in CLUSTERS)

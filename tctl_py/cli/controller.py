"""`tctl controller`: the control loop of `sync --watch` as a long-running, highly available service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import typer

from tctl_py.cli.common import HealthAddr, LogFormat, MetricsAddr
from tctl_py.fleet.lease import DEFAULT_LEASE_NAME, DEFAULT_LEASE_NAMESPACE, LeaseTimings

if TYPE_CHECKING:
    from tctl_py.cli.watching import WatchLog
    from tctl_py.fleet.lease import LeaderElector

HELP = """Keep the fleet in sync until stopped, as a service (deploy/ runs it in a cluster): the loop of sync --watch, with health and metrics endpoints.

With --leader-elect, replicas share a coordination.k8s.io/v1 Lease (--lease-namespace/--lease-name in the cluster of --lease-cluster, default the current context): only its holder writes to clusters; the others watch the same clusters, keep their caches warm and take over when the Lease expires. A holder that cannot renew the Lease within the renew deadline stops writing before the Lease can expire. SIGTERM finishes the writes in flight, releases the Lease (a follower takes over at its next retry) and exits 0.
"""

_TIMINGS = LeaseTimings()  # client-go's defaults, shown in --help


def command(
    leader_elect: bool = typer.Option(
        False, "--leader-elect", help="Write only while holding the Lease (run several replicas)."
    ),
    lease_cluster: Optional[str] = typer.Option(
        None,
        "--lease-cluster",
        metavar="CONTEXT",
        help="Kubeconfig context of the cluster holding the Lease (default: the current context).",
    ),
    lease_namespace: str = typer.Option(
        DEFAULT_LEASE_NAMESPACE,
        "--lease-namespace",
        metavar="NS",
        help="Namespace of the Lease (created if missing).",
    ),
    lease_name: str = typer.Option(
        DEFAULT_LEASE_NAME,
        "--lease-name",
        metavar="NAME",
        help="The Lease: replicas sharing it form one group.",
    ),
    identity: Optional[str] = typer.Option(
        None,
        "--identity",
        metavar="ID",
        help="This replica's name in the Lease (default: $POD_NAME, else hostname_pid).",
    ),
    lease_duration: float = typer.Option(
        _TIMINGS.lease_duration,
        "--lease-duration",
        metavar="SECONDS",
        help="How long followers wait after the last renewal they saw before taking over.",
    ),
    renew_deadline: float = typer.Option(
        _TIMINGS.renew_deadline,
        "--renew-deadline",
        metavar="SECONDS",
        help="How long the holder keeps writing without a successful renewal.",
    ),
    retry_period: float = typer.Option(
        _TIMINGS.retry_period,
        "--retry-period",
        metavar="SECONDS",
        help="Time between two attempts to acquire or renew the Lease.",
    ),
    metrics_addr: Optional[str] = MetricsAddr,
    health_addr: Optional[str] = HealthAddr,
    log_format: str = LogFormat,
) -> None:
    from tctl_py.cli.watching import WatchLog, check_watch_options, run_loop
    from tctl_py.reconcile.loop import LoopOptions

    options = LoopOptions()
    check_watch_options(options.debounce, options.resync, log_format)
    if not leader_elect:
        raise typer.Exit(
            run_loop(
                options,
                doing="tctl controller",
                log_format=log_format,
                metrics_addr=metrics_addr,
                health_addr=health_addr,
            )
        )
    timings = LeaseTimings(lease_duration, renew_deadline, retry_period)
    elector = _elector(lease_cluster, lease_namespace, lease_name, identity, timings, WatchLog(log_format))
    elector.start()
    try:
        code = run_loop(
            options,
            doing="tctl controller",
            log_format=log_format,
            metrics_addr=metrics_addr,
            health_addr=health_addr,
            gate=elector,
            on_metrics=lambda metrics: metrics.leader.set_function(lambda: float(elector.may_write())),
        )
    finally:  # the loop has finished its writes: only now may a follower start its own
        elector.stop(timeout=timings.retry_period)
        elector.client.close()
    raise typer.Exit(code)


def _elector(
    cluster: str | None, namespace: str, name: str, identity: str | None, timings: LeaseTimings, log: WatchLog
) -> LeaderElector:
    from tctl_py.cli.state import OPTIONS
    from tctl_py.errors import UsageError
    from tctl_py.fleet.kubeconfig import load_kubeconfig
    from tctl_py.fleet.lease import LeaderElector, default_identity, lease_client

    kubeconfig = load_kubeconfig(OPTIONS.kubeconfig)
    context = cluster or kubeconfig.current_context
    if not context:
        raise UsageError(
            "the kubeconfig has no current context: name the Lease's cluster with --lease-cluster"
        )
    if context not in kubeconfig.names():
        raise UsageError(f"--lease-cluster {context}: no such context in {kubeconfig.describe_files()}")
    me = identity or default_identity()
    where = f"Lease {namespace}/{name} in cluster {context}"

    def observed(holder: str) -> None:
        if holder != me:  # this replica's own acquisition is told as such
            log.leader("observed", holder, f"{where} is held by {holder or 'nobody'}")

    return LeaderElector(
        lease_client(kubeconfig, context, timings),
        identity=me,
        name=name,
        namespace=namespace,
        timings=timings,
        on_started_leading=lambda: log.leader("acquired", me, f"{me} holds {where}: writing"),
        on_stopped_leading=lambda: log.leader("lost", me, f"{me} no longer holds {where}: not writing"),
        on_new_leader=observed,
        on_error=lambda message: log.leader("error", me, message),
    )

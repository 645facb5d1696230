"""kubectl's conventions where users expect them (issue 11), on the example's snapshot fleet."""

from __future__ import annotations

import pytest

from tests.support.cli import EXAMPLE, STEP

CONFIG = EXAMPLE / "config"
FLEET = EXAMPLE / "fleet"


@pytest.fixture()
def tctl(main_run):
    """tctl on the example's snapshot fleet with the example configuration stored."""
    ran = main_run("apply", "--no-sync", "-f", str(CONFIG))
    assert ran.exit_code == 0, ran.stderr

    def run(*args):
        ran = main_run("--fleet", str(FLEET), *map(str, args))
        assert "Traceback" not in ran.stderr, ran.stderr
        return ran

    return run


def clusters_of(stdout: str) -> set[str]:
    return {m["cluster"] for m in map(STEP.match, stdout.splitlines()) if m}


# --- apply --cluster (defect 2) -------------------------------------------------------------


def test_apply_cluster_limits_the_reconcile_to_that_cluster(tctl, changed_setting):
    ran = tctl("apply", "-f", changed_setting, "--cluster", "cluster-3", "--dry-run", "-v")
    assert ran.exit_code == 1, ran.stderr
    assert clusters_of(ran.stdout) == {"cluster-3"}
    assert "cluster-3 serviceentry.networking.istio.io/reviews.bookinfo pruned (dry run)" in ran.stdout
    every = tctl("apply", "-f", changed_setting, "--dry-run", "-v")
    assert clusters_of(every.stdout) == {"cluster-1", "cluster-2", "cluster-3"}


def test_apply_help_says_cluster_limits_the_reconcile(main_run):
    ran = main_run("apply", "--help")
    assert "reconcile the configuration in it alone" in " ".join(ran.stdout.split())

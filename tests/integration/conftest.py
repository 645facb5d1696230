"""Integration tests: real HTTP between the official `kubernetes` client and emulated clusters."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import (
    EmulatedFleet,  # the repository root is on sys.path (pyproject.toml)
)
from tests.support.bookinfo import CLUSTERS, CONFIG, reset
from tests.support.cli import Ran, example_objects


@pytest.fixture
def emulated(tmp_path: Path) -> Iterator[EmulatedFleet]:
    """An empty emulated fleet; add clusters with `emulated.add_cluster(name, objects=[...])`."""
    with EmulatedFleet(tmp_path / "emulated") as fleet:
        yield fleet


@pytest.fixture(autouse=True)
def _no_proxy_for_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client honours HTTP(S)_PROXY like kubectl; the emulators live on 127.0.0.1."""
    for name in ("NO_PROXY", "no_proxy"):
        current = os.environ.get(name, "")
        monkeypatch.setenv(name, ",".join(filter(None, [current, "127.0.0.1", "localhost"])))


@pytest.fixture()
def tctl(main_run):
    """tctl through `main()` in this process; never a traceback."""

    def run(*args: str, **kwargs) -> Ran:
        ran = main_run(*args, **kwargs)
        assert "Traceback" not in ran.stderr, ran.stderr
        return ran

    return run


@pytest.fixture()
def fleet(emulated: EmulatedFleet, monkeypatch) -> EmulatedFleet:
    """cluster-1..3 serving the example's Namespaces and Services; KUBECONFIG names them all."""
    for name in CLUSTERS:
        emulated.add_cluster(name, objects=example_objects(name))
    path = emulated.write_kubeconfig(emulated.directory / "kubeconfig.yaml", current_context="cluster-1")
    monkeypatch.setenv("KUBECONFIG", str(path))
    reset(emulated)  # seeding is not counted
    return emulated


@pytest.fixture()
def applied(fleet, tctl) -> Ran:
    """The example's configuration applied to the fleet; request counters reset afterwards."""
    ran = tctl("apply", "-f", CONFIG)
    assert ran.exit_code == 0, ran.stderr
    reset(fleet)
    return ran

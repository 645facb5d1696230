"""Integration tests: real HTTP between the official `kubernetes` client and emulated clusters."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import EmulatedFleet  # the repository root is on sys.path (pyproject.toml)


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

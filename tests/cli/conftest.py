"""The use case's configuration as files each CLI test owns (the ways to run tctl are in
tests/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.cli import EXAMPLE
from tests.support.seed import SEED_INGRESS_GATEWAY, SEED_WORKSPACE_SETTING


@dataclass
class Config:
    dir: Path  # organization.yaml, workspace.yaml, bookinfo-settings.yaml
    org: Path
    ws: Path
    settings: Path
    gateway: Path  # outside `dir`


@pytest.fixture()
def cfg(tmp_path) -> Config:
    folder = tmp_path / "config"
    folder.mkdir()
    # copies of the example's files, so each test owns (and may change) its input
    files = {
        "organization.yaml": (EXAMPLE / "config" / "organization.yaml").read_text(),
        "workspace.yaml": (EXAMPLE / "config" / "workspace.yaml").read_text(),
        "bookinfo-settings.yaml": SEED_WORKSPACE_SETTING,
    }
    for name, text in files.items():
        (folder / name).write_text(text)
    gateway = tmp_path / "eastwest-gateway.yaml"
    gateway.write_text(SEED_INGRESS_GATEWAY)
    return Config(
        folder,
        folder / "organization.yaml",
        folder / "workspace.yaml",
        folder / "bookinfo-settings.yaml",
        gateway,
    )

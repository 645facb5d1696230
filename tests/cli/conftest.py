"""The use case's configuration as files each CLI test owns (the ways to run tctl are in
tests/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.seed import SEED_INGRESS_GATEWAY, SEED_WORKSPACE_SETTING


# The use case's configuration (as in examples/bookinfo, copied so the tests own their input).
ORGANIZATION_YAML = """\
# The organization and tenant of the Tetrate Service Express (TSE) examples.
apiVersion: api.tsb.tetrate.io/v2
kind: Organization
metadata:
  name: tse
spec:
  displayName: TSE
  description: Organization of the bookinfo example
---
apiVersion: api.tsb.tetrate.io/v2
kind: Tenant
metadata:
  name: tse
  organization: tse
spec:
  displayName: TSE
"""

WORKSPACE_YAML = """\
# The bookinfo workspace spans the bookinfo namespace of every cluster, as failover needs.
apiVersion: api.tsb.tetrate.io/v2
kind: Workspace
metadata:
  name: bookinfo-ws
  tenant: tse
  organization: tse
spec:
  displayName: Bookinfo
  namespaceSelector:
    names:
      - "*/bookinfo"
"""

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
    files = {"organization.yaml": ORGANIZATION_YAML, "workspace.yaml": WORKSPACE_YAML,
             "bookinfo-settings.yaml": SEED_WORKSPACE_SETTING}
    for name, text in files.items():
        (folder / name).write_text(text)
    gateway = tmp_path / "eastwest-gateway.yaml"
    gateway.write_text(SEED_INGRESS_GATEWAY)
    return Config(folder, folder / "organization.yaml", folder / "workspace.yaml",
                  folder / "bookinfo-settings.yaml", gateway)

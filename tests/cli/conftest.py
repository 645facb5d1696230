"""Running tctl three ways: Typer's CliRunner on the app, `main()` in-process, and a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner
from tests.support.seed import SEED_INGRESS_GATEWAY, SEED_WORKSPACE_SETTING

ROOT = Path(__file__).parents[2]

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


@dataclass
class Ran:
    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None = None


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """No test may touch the user's store, kubeconfig or fleet."""
    monkeypatch.setenv("TCTL_STORE", str(tmp_path / "env-store.db"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("KUBECONFIG", "TCTL_FLEET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture()
def store(tmp_path) -> Path:
    return tmp_path / "store.db"


@pytest.fixture()
def cli(store):
    """tctl through CliRunner on `tctl_py.cli.app.app`, with `--store` before the command."""
    from tctl_py.cli.app import app

    def run(*args: str, input: str | None = None, store_option: bool = True) -> Ran:
        argv = ["--store", str(store), *args] if store_option else list(args)
        result = CliRunner().invoke(app, argv, input=input)
        return Ran(result.exit_code, result.stdout, result.stderr, result.exception)

    return run


@pytest.fixture()
def main_run(store):
    """tctl through `main()` (argv rewriting and error mapping), in this process."""
    from tctl_py.cli.app import main

    def run(*args: str, input: str | None = None, store_option: bool = True) -> Ran:
        argv = [*args, "--store", str(store)] if store_option else list(args)
        runner = CliRunner()
        with runner.isolation(input=input) as streams:
            try:
                main(argv)
                code = 0
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
            sys.stdout.flush()
            sys.stderr.flush()
            out, err = streams[0].getvalue(), streams[1].getvalue()
        return Ran(code, out.decode(), err.decode())

    return run


@pytest.fixture()
def proc(store):
    """tctl as a subprocess: `python -m tctl_py ARGS`, the store given by TCTL_STORE."""

    def run(*args: str, input: str | None = None, env: dict | None = None) -> Ran:
        environment = {**os.environ, "TCTL_STORE": str(store), **(env or {})}
        done = subprocess.run([sys.executable, "-m", "tctl_py", *args], input=input, capture_output=True,
                              text=True, env=environment, cwd=ROOT, timeout=60)
        return Ran(done.returncode, done.stdout, done.stderr)

    return run

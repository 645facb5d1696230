"""Fixtures every tier shares: isolation from the user's environment, and ways to run tctl."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.cli import EXAMPLE, Ran, run_main, run_process


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """No test may touch the user's store, kubeconfig or fleet, or run their diff program."""
    monkeypatch.setenv("TCTL_STORE", str(tmp_path / "env-store.db"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("KUBECONFIG", "TCTL_FLEET", "TCTL_EXTERNAL_DIFF", "KUBECTL_EXTERNAL_DIFF"):
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
    """tctl through `main()` (argv rewriting and error mapping), with `--store` after the command."""

    def run(
        *args: str, input: str | None = None, store_option: bool = True, store_path: Path | None = None
    ) -> Ran:
        argv = [*map(str, args), "--store", str(store_path or store)] if store_option else list(args)
        return run_main(argv, input=input)

    return run


@pytest.fixture()
def proc(store):
    """tctl as a subprocess: `python -m tctl_py ARGS`, the store given by TCTL_STORE."""

    def run(*args: str, input: str | None = None, env: dict | None = None) -> Ran:
        return run_process(list(args), env={"TCTL_STORE": str(store), **(env or {})}, input=input)

    return run


@pytest.fixture()
def changed_setting(tmp_path) -> Path:
    """The example's WorkspaceSetting without its second exposedServices entry (reviews no
    longer exposed)."""
    text = (EXAMPLE / "config" / "bookinfo-settings.yaml").read_text()
    cut = "        - serviceLabels:\n            app: reviews\n"
    assert cut in text
    path = tmp_path / "changed.yaml"
    path.write_text(text.replace(cut, ""))
    return path

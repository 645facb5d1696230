"""Fast start (SPEC §7): --help, --version and validate never import `kubernetes`;
--help and --version do not import `jsonschema` either; no command imports `pydantic`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.seed import SEED_WORKSPACE

ROOT = Path(__file__).parents[2]

# Runs tctl's entry point, then reports which heavy modules ended up imported.
PROBE = """
import json, sys
from tctl_py.cli.app import main
try:
    main(sys.argv[1:])
    code = 0
except SystemExit as exit_:
    code = exit_.code
sys.stdout.flush()
loaded = sorted(name for name in sys.modules
                if name.split(".")[0] in ("kubernetes", "jsonschema", "jsonschema_rs", "urllib3", "pydantic"))
print("\\nPROBE " + json.dumps({"code": code, "modules": loaded}))
"""


def _env(tmp_path) -> dict:
    return {**os.environ, "TCTL_STORE": str(tmp_path / "store.db"), "HOME": str(tmp_path)}


def probe(tmp_path, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(tmp_path),
        timeout=60,
    )
    report = [line for line in done.stdout.splitlines() if line.startswith("PROBE ")]
    assert report, done.stdout + done.stderr
    return json.loads(report[-1][len("PROBE ") :])


def imported_modules(tmp_path, *args: str) -> tuple[int, set[str]]:
    """`python -X importtime -m tctl_py ARGS`: the top-level packages it imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tctl_py", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(tmp_path),
        timeout=60,
    )
    modules = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            modules.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    assert "tctl_py" in modules, done.stderr[-2000:]  # the probe itself works
    return done.returncode, modules


@pytest.fixture()
def workspace_file(tmp_path) -> Path:
    path = tmp_path / "workspace.yaml"
    path.write_text(SEED_WORKSPACE)
    return path


@pytest.mark.parametrize("args", [("--help",), ("--version",)])
def test_help_and_version_import_neither_kubernetes_nor_jsonschema(tmp_path, args):
    report = probe(tmp_path, *args)
    assert report["code"] == 0
    assert report["modules"] == []


def test_validate_does_not_import_kubernetes(tmp_path, workspace_file):
    report = probe(tmp_path, "validate", "-f", str(workspace_file))
    assert report["code"] == 0
    assert not [m for m in report["modules"] if m.split(".")[0] in ("kubernetes", "urllib3")]


def test_validate_of_invalid_input_does_not_import_kubernetes(tmp_path, workspace_file):
    workspace_file.write_text(SEED_WORKSPACE + "extra: 1\n")
    report = probe(tmp_path, "validate", "-f", str(workspace_file))
    assert report["code"] == 3
    assert not [m for m in report["modules"] if m.startswith("kubernetes")]
    assert any(m.startswith("jsonschema") for m in report["modules"])  # the probe sees real imports


@pytest.mark.parametrize("args", [("--help",), ("--version",)])
def test_importtime_of_help_and_version(tmp_path, args):
    code, modules = imported_modules(tmp_path, *args)
    assert code == 0
    assert "kubernetes" not in modules
    assert "jsonschema" not in modules and "jsonschema_rs" not in modules


def test_importtime_of_validate(tmp_path, workspace_file):
    code, modules = imported_modules(tmp_path, "validate", "-f", str(workspace_file))
    assert code == 0
    assert "kubernetes" not in modules
    assert "yaml" in modules


def test_options_are_parsed_without_pydantic(tmp_path):
    """Typer 0.29 coerces every option through pydantic (0.1-0.2 s of start-up per command)."""
    report = probe(tmp_path, "get", "workspaces", "-A", "-o", "yaml", "--request-timeout", "5")
    assert report["code"] == 0
    assert not [m for m in report["modules"] if m.startswith("pydantic")]

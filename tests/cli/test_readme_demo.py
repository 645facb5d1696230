"""After `make demo`, the README's next commands work (issue 11, defect 13): the README names the
demo's store and fleet, and its `tctl get` commands, run with them, find what the demo applied."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

from tests.support.cli import ROOT

MAKEFILE = (ROOT / "Makefile").read_text()
README = (ROOT / "README.md").read_text()


def _make_variable(name: str) -> str:
    match = re.search(rf"^{name} := (.+)$", MAKEFILE, re.MULTILINE)
    assert match, name
    return match.group(1).strip()


def _demo_paths() -> tuple[str, str]:
    """The demo's store and fleet, as its TCTL variable gives them to tctl."""
    state = _make_variable("DEMO_STATE")
    words = shlex.split(_make_variable("TCTL").replace("$(DEMO_STATE)", state))
    return words[words.index("--store") + 1], words[words.index("--fleet") + 1]


def _export_line() -> str:
    store, fleet = _demo_paths()
    return f"export TCTL_STORE={store} TCTL_FLEET={fleet}"


def test_the_readme_and_the_demo_name_the_demos_store_and_fleet():
    assert _export_line() in README
    demo = MAKEFILE.replace("$(DEMO_STATE)", _make_variable("DEMO_STATE"))
    assert f'@echo "{_export_line()}"' in demo


def _readme_commands(section: str) -> list[str]:
    """The `tctl ...` lines of the first sh block after `### section`, without their comments."""
    start = README.index(f"### {section}\n")
    block = README[README.index("```sh\n", start) + 6 : README.index("```\n", README.index("```sh\n", start))]
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.startswith("tctl ")]


def test_the_readmes_get_commands_work_after_the_demo(tmp_path):
    (tmp_path / "examples").symlink_to(ROOT / "examples")  # the demo runs from the repository root
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    for name in ("TCTL_STORE", "TCTL_FLEET", "KUBECONFIG"):
        env.pop(name, None)

    def tctl(command: str, extra: dict | None = None) -> subprocess.CompletedProcess:
        args = shlex.split(command)[1:]
        return subprocess.run(
            [sys.executable, "-m", "tctl_py", *args],
            cwd=tmp_path,
            env={**env, **(extra or {})},
            capture_output=True,
            text=True,
            timeout=60,
        )

    state = _make_variable("DEMO_STATE")
    (tmp_path / state).mkdir()
    demo = [
        line.strip()
        .replace("$(TCTL)", "tctl " + _make_variable("TCTL").split(" ", 1)[1])
        .replace("$(DEMO_STATE)", state)
        for line in MAKEFILE.splitlines()
        # the lines that set the demo's state; those that draw pictures into files (>) do not
        if line.startswith("\t$(TCTL) ") and not any(shell in line for shell in ">|")
    ]
    assert any(" apply " in line for line in demo)
    for line in demo:
        assert tctl(line).returncode == 0, line

    store, fleet = _demo_paths()
    commands = [
        c for c in _readme_commands("get") + _readme_commands("get of generated objects") if "|" not in c
    ]
    assert len(commands) >= 4
    for command in commands:
        ran = tctl(command, {"TCTL_STORE": store, "TCTL_FLEET": fleet})
        assert ran.returncode == 0, f"{command}: {ran.stderr}"
        if " -l " not in command:  # a label selector is an example filter: it may match nothing
            assert ran.stdout.strip(), command  # found what the demo applied

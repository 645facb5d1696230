"""Shell completion (defect 12 of issue 11): a script per shell, and what TAB offers through
click's protocol (`_TCTL_COMPLETE={shell}_complete`, COMP_WORDS, COMP_CWORD)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tctl_py.config.kinds import KINDS
from tests.support.cli import EXAMPLE, ROOT

FLEET = EXAMPLE / "fleet"
SHELLS = ["bash", "zsh", "fish"]

KUBECONFIG = """\
apiVersion: v1
kind: Config
current-context: east
clusters:
- {name: east, cluster: {server: "https://127.0.0.1:1"}}
- {name: west, cluster: {server: "https://127.0.0.1:2"}}
contexts:
- {name: east, context: {cluster: east, user: me}}
- {name: west, context: {cluster: west, user: me}}
users:
- {name: me, user: {token: not-a-secret}}
"""

# Completion through tctl's entry point, then which heavy modules it loaded.
PROBE = """
import sys
from tctl_py.cli.app import main
try:
    main([])
except SystemExit:
    pass
sys.stdout.flush()
print("LOADED", sorted(n for n in sys.modules if n.split(".")[0] in ("kubernetes", "urllib3")))
"""


def complete(line: str, shell: str = "bash", env: dict | None = None, probe: bool = False):
    """What tctl answers the shell for the command line `line` (completing its last word)."""
    words = line.split(" ")
    variables = {
        "_TCTL_COMPLETE": f"{shell}_complete",
        "COMP_WORDS": line,
        "COMP_CWORD": words[-1] if shell == "fish" else str(len(words) - 1),
        **(env or {}),
    }
    command = [sys.executable, "-c", PROBE] if probe else [sys.executable, "-m", "tctl_py"]
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=ROOT, env={**os.environ, **variables}, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def values(answer: str) -> list[str]:
    """The values of bash's `type,value` lines."""
    return [line.partition(",")[2] for line in answer.splitlines()]


@pytest.fixture()
def applied(proc, cfg):
    ran = proc("--fleet", str(FLEET), "apply", "-f", str(cfg.dir))
    assert ran.exit_code == 0, ran.stderr


@pytest.mark.parametrize("shell", SHELLS)
def test_each_shell_has_its_own_script(proc, shell):
    ran = proc("completion", shell)
    assert ran.exit_code == 0, ran.stderr
    assert "tctl" in ran.stdout
    assert f"_TCTL_COMPLETE={shell}_complete" in ran.stdout
    others = {proc("completion", other).stdout for other in SHELLS if other != shell}
    assert ran.stdout not in others


def test_the_bash_script_is_valid_bash(proc, tmp_path):
    if not shutil.which("bash"):
        pytest.skip("no bash here")
    script = tmp_path / "tctl.bash"
    script.write_text(proc("completion", "bash").stdout)
    done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_an_unknown_shell_is_a_usage_error(main_run):
    ran = main_run("completion", "ksh", store_option=False)
    assert ran.exit_code == 2
    assert 'no completion for the shell "ksh"; choose one of: bash, zsh, fish' in ran.stderr


def test_commands_complete():
    assert values(complete("tctl ge")) == ["get"]
    assert "completion" in values(complete("tctl "))


def test_get_tab_offers_every_kind_get_lists():
    offered = values(complete("tctl get "))
    for kind in KINDS.values():
        listed = kind.stored or kind.generated  # IngressGateways live in clusters only
        assert (kind.plural in offered) is listed and (set(kind.short_names) <= set(offered)) is listed
    assert "all" in offered


def test_get_kind_list_completes_the_next_kind():
    offered = values(complete("tctl get se,w"))
    assert "se,we" in offered and "se,workloadentries" in offered
    assert all(value.startswith("se,w") for value in offered)


@pytest.mark.parametrize("how", ["option", "option after the command", "env"])
def test_cluster_tab_offers_the_snapshot_fleets_clusters(how):
    if how == "option":
        answer = complete(f"tctl --fleet {FLEET} get se --cluster ")
    elif how == "option after the command":
        answer = complete(f"tctl get se --fleet {FLEET} --cluster ")
    else:
        answer = complete("tctl get se --cluster ", env={"TCTL_FLEET": str(FLEET)})
    assert values(answer) == ["cluster-1", "cluster-2", "cluster-3"]


@pytest.mark.parametrize("command", ["apply", "sync", "delete", "graph"])
def test_cluster_tab_works_on_every_command_that_takes_one(command):
    answer = complete(f"tctl --fleet {FLEET} {command} --cluster ")
    assert values(answer) == ["cluster-1", "cluster-2", "cluster-3"]


def test_cluster_tab_offers_the_kubeconfigs_contexts_without_importing_kubernetes(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    answer = complete("tctl get se --cluster ", env={"KUBECONFIG": str(kubeconfig)}, probe=True)
    lines = answer.splitlines()
    assert values("\n".join(lines[:-1])) == ["east", "west"]
    assert lines[-1] == "LOADED []"


def test_the_value_of_a_global_option_is_not_taken_for_a_command():
    assert complete("tctl get se --fleet ") == ""  # a path: the shell's own completion
    assert complete("tctl --fleet ") == ""
    assert values(complete("tctl --store x.db ge")) == ["get"]


def test_namespace_tab_offers_the_snapshots_namespaces():
    offered = values(complete(f"tctl --fleet {FLEET} get se -n "))
    assert "bookinfo" in offered and "istio-system" in offered


def test_names_of_configuration_come_from_the_store(applied, store):
    answer = complete("tctl get ws ", env={"TCTL_STORE": str(store)})
    assert values(answer) == ["bookinfo-ws"]


def test_names_of_generated_objects_come_from_the_snapshot_fleet(applied, store):
    answer = complete(f"tctl --fleet {FLEET} get se ", env={"TCTL_STORE": str(store)})
    assert values(answer) == ["details.bookinfo", "reviews.bookinfo"]


def test_a_missing_store_offers_nothing_and_creates_nothing(tmp_path):
    store = tmp_path / "absent.db"
    assert complete("tctl get ws ", env={"TCTL_STORE": str(store)}) == ""
    assert not store.exists()


def test_zsh_and_fish_answers():
    zsh = complete("tctl ge", shell="zsh").splitlines()
    assert zsh[:2] == ["plain", "get"] and len(zsh) == 3  # type, value, help
    fish = complete("tctl get --clu", shell="fish")
    assert values(fish) == ["--cluster"]


def test_bash_completes_through_its_script(proc, tmp_path, applied, store):
    if not shutil.which("bash"):
        pytest.skip("no bash here")
    launcher = tmp_path / "bin" / "tctl"
    launcher.parent.mkdir()
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m tctl_py "$@"\n')
    launcher.chmod(0o755)
    shell = (
        "source <(tctl completion bash)\n"
        'COMP_WORDS=(tctl get se --cluster ""); COMP_CWORD=4; _tctl_completion\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(
        ["bash", "-c", shell],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PATH": f"{launcher.parent}:{os.environ['PATH']}", "TCTL_FLEET": str(FLEET)},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["cluster-1", "cluster-2", "cluster-3"]

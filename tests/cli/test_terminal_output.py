"""What a person sees at a terminal and what a pipe gets: tables that never wrap, diff colour
that follows --color and NO_COLOR (defects 6 and 8 of issue 11)."""

from __future__ import annotations

import pytest

from tests.support.cli import EXAMPLE
from tests.support.terminal import run_on_terminal

FLEET = EXAMPLE / "fleet"
ESCAPE = "\x1b["


@pytest.fixture()
def applied(proc, cfg):
    ran = proc("--fleet", str(FLEET), "apply", "-f", str(cfg.dir))
    assert ran.exit_code == 0, ran.stderr
    return ran


@pytest.fixture()
def changed(cfg):
    """The example's WorkspaceSetting with one exposed service less: a diff to show."""
    text = cfg.settings.read_text()
    cut = "        - serviceLabels:\n            app: reviews\n"
    assert cut in text
    cfg.settings.write_text(text.replace(cut, ""))
    return cfg.settings


def terminal(store, *args: str, columns: int = 80, **env: str | None):
    return run_on_terminal(
        ["--fleet", str(FLEET), *args], columns=columns, env={"TCTL_STORE": str(store), **env}
    )


@pytest.mark.parametrize("columns", [80, 120])
def test_tables_on_a_terminal_never_wrap_a_cell(store, applied, proc, columns):
    ran = terminal(store, "get", "se", "-A", "-o", "wide", columns=columns)
    assert ran.exit_code == 0, ran.stderr
    piped = proc("--fleet", str(FLEET), "get", "se", "-A", "-o", "wide")
    # the very lines a pipe gets: one per object, cells whole, longer than the terminal
    assert ran.stdout == piped.stdout
    lines = ran.stdout.splitlines()
    assert len(lines) == 1 + len(piped.stdout.splitlines()) - 1
    assert max(map(len, lines)) > columns
    assert any("details.bookinfo.svc.cluster.local" in line.split() for line in lines)
    assert ESCAPE not in ran.stdout


def test_clusters_table_on_a_narrow_terminal_is_one_line_per_cluster(store, applied):
    ran = terminal(store, "clusters", columns=80)
    assert ran.exit_code == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0].split()[:2] == ["NAME", "SERVER"]
    assert [line.split()[0] for line in lines[1:]] == ["cluster-1", "cluster-2", "cluster-3"]


def test_diff_on_a_terminal_is_coloured(store, applied, changed):
    ran = terminal(store, "diff", "-f", str(changed), NO_COLOR=None, TERM="xterm")
    assert ran.exit_code == 1, ran.stderr
    assert "\x1b[31m-" in ran.stdout  # a removed line in red


@pytest.mark.parametrize(
    "how", [{"NO_COLOR": "1"}, {"TERM": "dumb", "NO_COLOR": None}, {"color": "never", "NO_COLOR": None}]
)
def test_no_color_and_color_never_leave_the_terminal_plain(store, applied, changed, how):
    how = dict(how)
    option = [f"--color={how.pop('color')}"] if "color" in how else []
    ran = terminal(store, "diff", "-f", str(changed), *option, **how)
    assert ran.exit_code == 1, ran.stderr
    assert "\n-    network: cluster-2\n" in ran.stdout
    assert ESCAPE not in ran.stdout


def test_a_pipe_gets_no_escape_codes_even_without_no_color(proc, store, applied, changed):
    ran = proc("--fleet", str(FLEET), "diff", "-f", str(changed), env={"NO_COLOR": ""})
    assert ran.exit_code == 1, ran.stderr
    assert "serviceLabels" in ran.stdout
    assert ESCAPE not in ran.stdout + ran.stderr


def test_color_always_colours_a_pipe_too(proc, store, applied, changed):
    ran = proc("--fleet", str(FLEET), "diff", "-f", str(changed), "--color", "always")
    assert ran.exit_code == 1, ran.stderr
    assert "\x1b[32m" in ran.stdout or "\x1b[31m" in ran.stdout


def test_color_takes_only_auto_always_never(main_run):
    ran = main_run("--color=sometimes", "clusters")
    assert ran.exit_code == 2
    assert "auto, always, never" in ran.stderr


DEAD_KUBECONFIG = """\
apiVersion: v1
kind: Config
current-context: dead
clusters:
- {name: dead, cluster: {server: "https://127.0.0.1:1"}}
contexts:
- {name: dead, context: {cluster: dead, user: me}}
users:
- {name: me, user: {token: not-a-secret}}
"""


@pytest.mark.parametrize(
    ("env", "escapes"), [({"NO_COLOR": None, "TERM": "xterm"}, True), ({"NO_COLOR": "1"}, False)]
)
def test_the_live_progress_on_a_terminal_writes_no_escape_codes_under_no_color(tmp_path, cfg, env, escapes):
    """Work on live clusters shows a progress display on a terminal's stderr (here: one cluster
    that refuses connections); with NO_COLOR it is plain lines."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(DEAD_KUBECONFIG)
    ran = run_on_terminal(
        ["--kubeconfig", str(kubeconfig), "--request-timeout", "2", "apply", "-f", str(cfg.dir)],
        columns=80,
        env={"TCTL_STORE": str(tmp_path / "store.db"), **env},
        stderr_too=True,
    )
    assert ran.exit_code == 4, ran.stdout
    assert "error: cluster dead" in ran.stdout
    assert (ESCAPE in ran.stdout) is escapes

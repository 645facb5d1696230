"""No fleet is never a silent success (issue 11, defects 1 and 3): every command that needs a
fleet fails with a clear message when there is none, and the current context must exist."""

from __future__ import annotations

import pytest

from tests.support.cli import EXAMPLE

CONFIG = EXAMPLE / "config"
FLEET = EXAMPLE / "fleet"

# Every command that needs a fleet, as a user would type it.
NEEDS_A_FLEET = [
    ("apply", "-f", str(CONFIG)),
    ("apply", "--dry-run", "-f", str(CONFIG)),
    ("sync",),
    ("diff",),
    ("diff", "-f", str(CONFIG)),
    ("get", "se", "-A"),
    ("render", "--out", "{tmp}/out"),
    ("snapshot", "--out", "{tmp}/snap"),
    ("clusters",),
    ("delete", "-f", str(CONFIG / "bookinfo-settings.yaml")),
]

KUBECONFIG = """\
apiVersion: v1
kind: Config
current-context: {current}
clusters:
- name: c1
  cluster: {{server: "https://127.0.0.1:1"}}
contexts:
- name: cluster-1
  context: {{cluster: c1, user: u1}}
users:
- name: u1
  user: {{token: not-a-real-token}}
"""


@pytest.fixture()
def stored(main_run):
    ran = main_run("apply", "--no-sync", "-f", str(CONFIG))
    assert ran.exit_code == 0, ran.stderr


def _args(args: tuple[str, ...], tmp_path) -> list[str]:
    return [arg.replace("{tmp}", str(tmp_path)) for arg in args]


@pytest.mark.parametrize("args", NEEDS_A_FLEET, ids=" ".join)
def test_a_missing_kubeconfig_file_is_no_fleet_exit_2(main_run, stored, monkeypatch, tmp_path, args):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing.yaml"))
    ran = main_run(*_args(args, tmp_path))
    assert ran.exit_code == 2, ran.stdout + ran.stderr
    assert ran.stdout == ""
    assert "error: there is no fleet: no kubeconfig was found" in ran.stderr
    assert str(tmp_path / "missing.yaml") in ran.stderr  # where tctl looked
    assert "--no-sync" in ran.stderr  # how to only store


def test_no_fleet_apply_stores_nothing(main_run, monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing.yaml"))
    assert main_run("apply", "-f", str(CONFIG)).exit_code == 2
    listed = main_run("get", "ws")
    assert listed.stdout == "" and "No resources found" in listed.stderr


def test_apply_no_sync_needs_no_fleet(main_run, monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing.yaml"))
    ran = main_run("apply", "--no-sync", "-f", str(CONFIG))
    assert ran.exit_code == 0, ran.stderr
    assert "workspace/bookinfo-ws created" in ran.stdout


def test_a_kubeconfig_without_contexts_is_no_fleet(main_run, stored, tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    ran = main_run("--kubeconfig", str(empty), "sync")
    assert ran.exit_code == 2
    assert f"the kubeconfig ({empty}) defines no context" in ran.stderr


@pytest.mark.parametrize("command", [("diff",), ("sync",), ("clusters",), ("get", "se")])
def test_a_configuration_file_given_as_kubeconfig_is_invalid_exit_3(main_run, stored, command):
    ran = main_run("--kubeconfig", str(CONFIG / "workspace.yaml"), *command)
    assert ran.exit_code == 3, ran.stderr
    assert ran.stdout == ""
    assert "this is not a kubeconfig (kind is 'Workspace', not 'Config')" in ran.stderr
    assert f"{CONFIG / 'workspace.yaml'}:" in ran.stderr  # file and position


def test_an_empty_fleet_folder_is_no_fleet(main_run, stored, tmp_path):
    (tmp_path / "empty").mkdir()
    ran = main_run("--fleet", str(tmp_path / "empty"), "sync")
    assert ran.exit_code == 2
    assert "has no cluster folders" in ran.stderr


def test_a_snapshot_none_of_whose_clusters_is_declared_is_no_fleet(main_run, stored, tmp_path):
    import shutil

    shutil.copytree(FLEET / "cluster-1", tmp_path / "fleet" / "other")
    ran = main_run("--fleet", str(tmp_path / "fleet"), "sync")
    assert ran.exit_code == 2
    assert "no cluster of the snapshot is one the store's Cluster objects name" in ran.stderr


# --- the current context (defect 3) ---------------------------------------------------------


def test_an_unknown_current_context_is_kubectls_error_exit_3(main_run, stored, tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG.format(current="nope"))
    for command in (("get", "se"), ("sync",), ("clusters",)):
        ran = main_run("--kubeconfig", str(path), *command)
        assert ran.exit_code == 3, ran.stderr
        assert 'error: context "nope" was not found' in ran.stderr
        assert "known contexts: cluster-1" in ran.stderr


def test_an_unknown_context_option_is_a_usage_error(main_run, stored, tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG.format(current="nope"))  # --context wins over a bad current-context
    ran = main_run("--kubeconfig", str(path), "--context", "elsewhere", "sync")
    assert ran.exit_code == 2
    assert 'error: context "elsewhere" was not found' in ran.stderr


def test_context_chooses_the_cluster_of_get_on_a_snapshot(main_run, stored):
    ran = main_run("--fleet", str(FLEET), "get", "se", "-o", "name", "--context", "cluster-3")
    every = main_run("--fleet", str(FLEET), "get", "se", "-o", "name", "--cluster", "cluster-3")
    assert ran.exit_code == 0, ran.stderr
    assert ran.stdout == every.stdout != ""


def test_a_context_that_is_not_a_cluster_of_a_snapshot_is_not_found(main_run, stored):
    ran = main_run("--fleet", str(FLEET), "--context", "cluster-9", "get", "se")
    assert ran.exit_code == 2
    assert 'context "cluster-9" was not found' in ran.stderr


def test_a_context_left_out_by_the_cluster_objects_is_refused_not_replaced_by_all(main_run, tmp_path):
    clusters = (CONFIG / "clusters.yaml").read_text().split("---")
    only_two = tmp_path / "clusters.yaml"
    only_two.write_text("---".join(c for c in clusters if "cluster-1" not in c))
    for path in (CONFIG / "organization.yaml", only_two):
        assert main_run("apply", "--no-sync", "-f", str(path)).exit_code == 0
    ran = main_run("--fleet", str(FLEET), "--context", "cluster-1", "get", "se")
    assert ran.exit_code == 2
    assert 'the current context "cluster-1" is not a cluster of the fleet' in ran.stderr
    assert "cluster-2, cluster-3" in ran.stderr
    assert ran.stdout == ""

"""kubectl's conventions where users expect them (issue 11), on the example's snapshot fleet."""

from __future__ import annotations

import pytest

from tests.support.cli import EXAMPLE, STEP

CONFIG = EXAMPLE / "config"
FLEET = EXAMPLE / "fleet"


@pytest.fixture()
def tctl(main_run):
    """tctl on the example's snapshot fleet with the example configuration stored."""
    ran = main_run("apply", "--no-sync", "-f", str(CONFIG))
    assert ran.exit_code == 0, ran.stderr

    def run(*args):
        ran = main_run("--fleet", str(FLEET), *map(str, args))
        assert "Traceback" not in ran.stderr, ran.stderr
        return ran

    return run


def clusters_of(stdout: str) -> set[str]:
    return {m["cluster"] for m in map(STEP.match, stdout.splitlines()) if m}


# --- apply --cluster (defect 2) -------------------------------------------------------------


def test_apply_cluster_limits_the_reconcile_to_that_cluster(tctl, changed_setting):
    ran = tctl("apply", "-f", changed_setting, "--cluster", "cluster-3", "--dry-run", "-v")
    assert ran.exit_code == 1, ran.stderr
    assert clusters_of(ran.stdout) == {"cluster-3"}
    assert "cluster-3 serviceentry.networking.istio.io/reviews.bookinfo pruned (dry run)" in ran.stdout
    every = tctl("apply", "-f", changed_setting, "--dry-run", "-v")
    assert clusters_of(every.stdout) == {"cluster-1", "cluster-2", "cluster-3"}


def test_apply_help_says_cluster_limits_the_reconcile(main_run):
    ran = main_run("apply", "--help")
    assert "reconcile the configuration in it alone" in " ".join(ran.stdout.split())


# --- less noise, and a report for machines (defect 10) ----------------------------------------

OBJECTS = 19  # what the example's configuration generates in its three clusters


def test_sync_prints_changes_and_a_summary_per_cluster_unchanged_only_with_v(tctl):
    ran = tctl("sync")
    assert ran.exit_code == 0, ran.stderr
    assert not ran.step_lines()  # everything is unchanged
    summaries = ran.summaries()
    assert set(summaries) == {"cluster-1", "cluster-2", "cluster-3"}
    assert all(set(counts) == {"unchanged"} for counts in summaries.values())
    assert sum(counts["unchanged"] for counts in summaries.values()) == OBJECTS
    verbose = tctl("sync", "-v")
    assert len(verbose.step_lines()) == OBJECTS
    assert verbose.summaries() == summaries


def test_apply_summary_counts_each_outcome(tctl, changed_setting):
    ran = tctl("apply", "-f", changed_setting)
    assert ran.exit_code == 0, ran.stderr
    assert all(" unchanged" not in line for line in ran.step_lines())
    cluster_3 = ran.summaries()["cluster-3"]
    assert cluster_3["pruned"] == 1 and cluster_3["unchanged"] >= 1
    assert "cluster-3: " in ran.stdout and "unchanged (snapshot fleet: not written)" in ran.stdout
    changed = [line for line in ran.step_lines() if line.startswith("cluster-3 ")]
    assert len(changed) == sum(n for outcome, n in cluster_3.items() if outcome != "unchanged")


def test_quiet_prints_only_errors(tctl, changed_setting):
    ran = tctl("apply", "-f", changed_setting, "--dry-run", "-q")
    assert ran.exit_code == 1  # the exit code still says something would change
    assert ran.stdout == "" and ran.stderr == ""
    synced = tctl("sync", "--quiet")
    assert (synced.exit_code, synced.stdout, synced.stderr) == (0, "", "")
    refused = tctl("sync", "-q", "--cluster", "cluster-9")
    assert refused.exit_code == 2 and "cluster-9" in refused.stderr


def test_quiet_and_verbose_together_are_refused(tctl):
    ran = tctl("sync", "-q", "-v")
    assert ran.exit_code == 2 and "--quiet or --verbose" in ran.stderr


def test_sync_json_is_one_document_of_every_step(tctl):
    import json

    ran = tctl("sync", "-o", "json")
    assert ran.exit_code == 0, ran.stderr
    report = json.loads(ran.stdout)
    assert report["kind"] == "Report" and report["command"] == "sync" and report["dryRun"] is None
    assert len(report["steps"]) == OBJECTS
    se = next(s for s in report["steps"] if s["kind"] == "ServiceEntry" and s["cluster"] == "cluster-3")
    assert set(se) == {"cluster", "kind", "namespace", "name", "action", "outcome", "reason"}
    assert se["namespace"] == "xcp-multicluster"
    assert (se["action"], se["outcome"], se["reason"]) == ("unchanged", "unchanged", "")
    namespace = next(s for s in report["steps"] if s["kind"] == "Namespace")
    assert namespace["namespace"] is None  # cluster-scoped


def test_apply_yaml_reports_the_store_and_the_clusters(tctl, changed_setting):
    import yaml

    ran = tctl("apply", "-f", changed_setting, "--dry-run", "-o", "yaml")
    assert ran.exit_code == 1
    report = yaml.safe_load(ran.stdout)  # one document: no diffs, no lines
    assert report["command"] == "apply" and report["dryRun"] == "client"
    stored = [s for s in report["steps"] if s["cluster"] is None]
    assert stored == [
        {
            "cluster": None,
            "kind": "WorkspaceSetting",
            "namespace": None,
            "name": "bookinfo-ws-settings",
            "action": "configured",
            "outcome": "configured",
            "reason": "",
        }
    ]
    pruned = [s for s in report["steps"] if s["outcome"] == "pruned"]
    assert ("cluster-3", "ServiceEntry", "reviews.bookinfo") in [
        (s["cluster"], s["kind"], s["name"]) for s in pruned
    ]
    assert all(s["action"] == "pruned" for s in pruned)


def test_an_unknown_report_format_is_a_usage_error(tctl):
    ran = tctl("sync", "-o", "table")
    assert ran.exit_code == 2 and '--output must be "json" or "yaml"' in ran.stderr


# --- one external diff over the store and the clusters (defect 7) -------------------------------


def test_the_external_diff_program_runs_once_over_one_pair_of_folders(
    tctl, changed_setting, tmp_path, monkeypatch
):
    import sys

    calls = tmp_path / "calls"
    program = tmp_path / "record.py"
    program.write_text(
        "import os, sys\n"
        f"with open({str(calls)!r}, 'a') as f:\n"
        "    f.write(' '.join(sorted(os.listdir(sys.argv[1]) + os.listdir(sys.argv[2]))) + '\\n')\n"
        "print('external diff ran')\n"
        "sys.exit(1)\n"
    )
    monkeypatch.setenv("KUBECTL_EXTERNAL_DIFF", f"{sys.executable} {program}")
    ran = tctl("diff", "-f", changed_setting)
    assert ran.exit_code == 1, ran.stderr
    assert ran.stdout == "external diff ran\n"
    runs = calls.read_text().splitlines()
    assert len(runs) == 1
    files = runs[0].split()
    assert any(name.startswith("store.") for name in files)  # the stored setting's change
    assert any(name.startswith("cluster-3.") for name in files)  # and the clusters'


# --- validation edges (defect 11) ---------------------------------------------------------------


def test_an_empty_file_in_a_folder_is_skipped_but_named_alone_is_an_error(main_run, tmp_path):
    import shutil

    folder = tmp_path / "config"
    shutil.copytree(CONFIG, folder)
    (folder / "empty.yaml").write_text("")
    (folder / "comments.yml").write_text("# nothing here yet\n")
    ran = main_run("apply", "--no-sync", "-f", folder)
    assert ran.exit_code == 0, ran.stderr
    assert "workspacesetting/bookinfo-ws-settings created" in ran.stdout.splitlines()
    alone = main_run("validate", "-f", folder / "empty.yaml")
    assert alone.exit_code == 3
    assert "empty.yaml:1:1: no documents found" in alone.stderr


def test_a_folder_of_only_empty_files_has_no_objects(main_run, tmp_path):
    (tmp_path / "a.yaml").write_text("")
    ran = main_run("validate", "-f", tmp_path)
    assert ran.exit_code == 3 and "no objects in the input" in ran.stderr


def test_a_kind_typo_gets_a_did_you_mean(main_run, tmp_path):
    typo = tmp_path / "settings.yaml"
    typo.write_text(
        (CONFIG / "bookinfo-settings.yaml")
        .read_text()
        .replace("kind: WorkspaceSetting", "kind: WorkspaceSettings")
    )
    ran = main_run("validate", "-f", typo)
    assert ran.exit_code == 3
    assert 'unknown kind "WorkspaceSettings"' in ran.stderr
    assert '(hint: did you mean "WorkspaceSetting"?)' in ran.stderr


# --- tctl version ---------------------------------------------------------------------------------


def test_version_client_needs_no_fleet(main_run):
    import json
    import platform

    from tctl_py import __version__

    ran = main_run("version", "--client")
    assert ran.exit_code == 0, ran.stderr
    assert ran.stdout == f"Client Version: {__version__}\nPython Version: {platform.python_version()}\n"
    as_json = json.loads(main_run("version", "--client", "-o", "json").stdout)
    assert as_json == {"clientVersion": {"tctl": __version__, "python": platform.python_version()}}


def test_version_without_a_fleet_is_no_fleet(main_run):
    ran = main_run("version")
    assert ran.exit_code == 2 and "there is no fleet" in ran.stderr
    assert ran.stdout == ""


def test_version_of_a_snapshot_fleet_has_no_servers(tctl):
    import yaml

    ran = tctl("version", "-o", "yaml")
    assert ran.exit_code == 0, ran.stderr
    assert yaml.safe_load(ran.stdout)["serverVersions"] == {}


# --- -n and -A on configuration kinds ------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("-n", "bookinfo"), "-n/--namespace"),
        (("--namespace=bookinfo",), "-n/--namespace"),
        (("--cluster", "cluster-1"), "--cluster/--context"),
    ],
)
@pytest.mark.parametrize("kind", ["ws", "wss", "organizations", "clusters"])
def test_namespace_and_cluster_options_on_configuration_are_refused(tctl, kind, args, option):
    ran = tctl("get", kind, *args)
    assert ran.exit_code == 2
    assert ran.stdout == ""
    assert f"{option} does not apply to" in ran.stderr and "--org, --tenant or --workspace" in ran.stderr


@pytest.mark.parametrize("kind", ["ws", "wss", "organizations", "clusters"])
def test_all_on_configuration_lists_everything_as_without_it(tctl, kind):
    everything = tctl("get", kind, "-o", "yaml")
    ran = tctl("get", kind, "-A", "-o", "yaml")
    assert ran.exit_code == 0 and ran.stdout == everything.stdout != ""


def test_namespace_on_generated_kinds_still_works(tctl):
    ran = tctl("get", "we", "-A", "-n", "bookinfo", "-o", "name")
    assert ran.exit_code == 0 and ran.stdout


# --- --context beside --cluster -------------------------------------------------------------------


def test_context_narrows_sync_and_apply_as_cluster_does(tctl, changed_setting):
    ran = tctl("--context", "cluster-3", "sync", "-v")
    assert ran.exit_code == 0, ran.stderr
    assert clusters_of(ran.stdout) == {"cluster-3"}
    applied = tctl("apply", "-f", changed_setting, "--dry-run", "--context", "cluster-2")
    assert applied.exit_code == 1
    assert clusters_of(applied.stdout) == {"cluster-2"}


def test_context_and_cluster_naming_different_clusters_are_refused(tctl):
    for command in (("sync", "--cluster", "cluster-1"), ("get", "se", "--cluster", "cluster-1")):
        ran = tctl("--context", "cluster-2", *command)
        assert ran.exit_code == 2
        assert '--context "cluster-2" and --cluster "cluster-1" name different clusters' in ran.stderr


def test_context_shows_one_row_of_clusters_and_is_refused_by_render(tctl, tmp_path):
    ran = tctl("clusters", "--context", "cluster-2")
    assert ran.exit_code == 0, ran.stderr
    assert [line.split()[0] for line in ran.stdout.splitlines()] == ["NAME", "cluster-2"]
    refused = tctl("render", "--out", tmp_path / "out", "--context", "cluster-2")
    assert refused.exit_code == 2 and "--context does not narrow it" in refused.stderr
    assert not (tmp_path / "out").exists()


# --- delete -f undoes apply -f (defect 5), on the snapshot fleet ---------------------------------


def test_delete_f_of_a_folder_with_a_gateway_needs_a_cluster_and_dry_runs(tctl, tmp_path):
    import shutil

    folder = tmp_path / "all"
    shutil.copytree(CONFIG, folder)
    shutil.copy(EXAMPLE / "eastwest-gateway.yaml", folder)
    refused = tctl("delete", "-f", folder)
    assert refused.exit_code == 2
    assert "IngressGateway eastwest-gateway is installed in a cluster" in refused.stderr
    assert "--cluster C or use --all-clusters" in refused.stderr

    dry = tctl("delete", "-f", folder, "--all-clusters", "--dry-run")
    assert dry.exit_code == 1, dry.stderr
    assert "workspacesetting/bookinfo-ws-settings deleted (dry run)" in dry.stdout.splitlines()
    assert "cluster-3 serviceentry.networking.istio.io/details.bookinfo pruned (dry run)" in dry.step_lines()
    assert dry.summaries()["cluster-3"]["pruned"] >= 2
    assert tctl("get", "wss", "-o", "name").stdout.strip()  # nothing deleted

    report = tctl("delete", "-f", folder, "--all-clusters", "--dry-run", "-o", "json")
    import json

    steps = json.loads(report.stdout)["steps"]
    gateways = [s for s in steps if s["kind"] == "IngressGateway"]
    # a snapshot holds no IngressGateway: nothing to delete
    assert {(s["cluster"], s["action"], s["outcome"]) for s in gateways} == {
        (name, "unchanged", "unchanged") for name in ("cluster-1", "cluster-2", "cluster-3")
    }

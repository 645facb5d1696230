"""Whole commands: validate, apply, get, delete, --version, --help, exit codes and error output."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
import yaml

from tctl_py import __version__
from tests.support.cli import EXAMPLE
from tests.support.seed import SEED_WORKSPACE

CREATED = [
    "organization/tse created",
    "tenant/tse created",
    "workspace/bookinfo-ws created",
    "workspacesetting/bookinfo-ws-settings created",
]

CLUSTER = """\
apiVersion: api.tsb.tetrate.io/v2
kind: Cluster
metadata:
  name: cluster-1
  organization: tse
spec:
  network: vpc-1
  locality:
    region: eu-west-2
"""

# The seed's workspace, renamed, with a display name of the wrong type (line 12).
BAD_WORKSPACE = SEED_WORKSPACE.replace("bookinfo-ws", "broken-ws") + "  displayName: 5\n"


def lines(text: str) -> list[str]:
    return text.splitlines()


def no_traceback(ran) -> None:
    assert "Traceback" not in ran.stderr
    assert "Traceback" not in ran.stdout


@pytest.fixture()
def applied(cli, cfg):
    """The bookinfo configuration in the store."""
    ran = cli("apply", "--no-sync", "-f", str(cfg.dir))
    assert ran.exit_code == 0, ran.stderr
    return ran


@pytest.fixture()
def bad_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_WORKSPACE)
    return path


# --- validate -------------------------------------------------------------------------------------


def test_validate_valid_exits_0(cli, cfg):
    ran = cli("validate", "-f", str(cfg.dir))
    assert ran.exit_code == 0
    assert ran.stdout == ""
    assert "4 documents in 3 files valid" in ran.stderr


def test_validate_seed_gateway(cli, cfg):
    ran = cli("validate", "-f", str(cfg.gateway), "-f", str(cfg.settings))
    assert ran.exit_code == 0, ran.stderr


def test_validate_problems_exit_3_with_positions(cli, bad_file):
    ran = cli("validate", "-f", str(bad_file))
    assert ran.exit_code == 3
    assert lines(ran.stderr)[0] == (
        f"{bad_file}:11:16: Workspace broken-ws: $.spec.displayName: expected string, got integer 5"
    )
    assert "1 problem found in 1 document in 1 file" in ran.stderr


def test_validate_reports_every_problem_of_every_file(cli, tmp_path, bad_file):
    other = tmp_path / "other.yaml"
    other.write_text(
        "apiVersion: api.tsb.tetrate.io/v2\nkind: Organization\nmetadata:\n  name: o\nextra: 1\n"
    )
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing\n")
    ran = cli("validate", "-f", str(bad_file), "-f", str(other), "-f", str(empty))
    assert ran.exit_code == 3
    problem_lines = [line for line in lines(ran.stderr) if line.startswith(str(tmp_path))]
    assert [line.split(":")[0] for line in problem_lines] == [str(bad_file), str(other), str(empty)]
    assert f"{other}:5:1: Organization o: $.extra: unknown field" in ran.stderr
    assert "no documents" in ran.stderr


def test_validate_stdin(cli):
    ran = cli("validate", "-f", "-", input=BAD_WORKSPACE)
    assert ran.exit_code == 3
    assert "<stdin>:11:16: Workspace broken-ws" in ran.stderr


def test_validate_recursive(cli, tmp_path, bad_file, cfg):
    nested = tmp_path / "tree" / "deeper"
    nested.mkdir(parents=True)
    (nested / "bad.yaml").write_text(BAD_WORKSPACE)
    (tmp_path / "tree" / "ok.yaml").write_text(cfg.org.read_text())
    assert cli("validate", "-f", str(tmp_path / "tree")).exit_code == 0
    ran = cli("validate", "-R", "-f", str(tmp_path / "tree"))
    assert ran.exit_code == 3
    assert str(nested / "bad.yaml") in ran.stderr


def test_validate_without_f_is_a_usage_error(cli):
    ran = cli("validate")
    assert ran.exit_code == 2
    no_traceback(ran)


def test_validate_bad_output_format_is_a_usage_error(main_run, cfg):
    ran = main_run("validate", "-f", str(cfg.dir), "-o", "xml")
    assert ran.exit_code == 2
    no_traceback(ran)


def test_validate_json(cli, bad_file, cfg):
    ran = cli("validate", "-f", str(bad_file), "-o", "json")
    assert ran.exit_code == 3
    report = json.loads(ran.stdout)
    assert report["valid"] is False
    assert report["summary"] == {"files": 1, "documents": 1, "problems": 1}
    problem = report["problems"][0]
    assert (problem["file"], problem["line"], problem["column"]) == (str(bad_file), 11, 16)
    assert (problem["kind"], problem["name"], problem["path"]) == (
        "Workspace",
        "broken-ws",
        "$.spec.displayName",
    )
    valid = cli("validate", "-f", str(cfg.dir), "-o", "json")
    assert valid.exit_code == 0 and json.loads(valid.stdout)["valid"] is True


def test_validate_junit(cli, bad_file, cfg):
    ran = cli("validate", "-f", str(bad_file), "-f", str(cfg.org), "-o", "junit")
    assert ran.exit_code == 3
    root = ET.fromstring(ran.stdout)
    cases = {case.get("name"): case for case in root.iter("testcase")}
    assert set(cases) == {str(bad_file), str(cfg.org)}
    assert len(cases[str(bad_file)].findall("failure")) == 1
    assert cases[str(cfg.org)].findall("failure") == []


def test_validate_github(cli, bad_file, cfg):
    ran = cli("validate", "-f", str(bad_file), "-o", "github")
    assert ran.exit_code == 3
    assert lines(ran.stdout) == [
        f"::error file={bad_file},line=11,col=16,title=Workspace broken-ws%3A $.spec.displayName::"
        "expected string, got integer 5"
    ]
    assert cli("validate", "-f", str(cfg.dir), "-o", "github").stdout == ""


def test_validate_nonexistent_path_exits_2(main_run, tmp_path):
    ran = main_run("validate", "-f", str(tmp_path / "nope.yaml"))
    assert ran.exit_code == 2
    assert "nope.yaml" in ran.stderr and "does not exist" in ran.stderr
    no_traceback(ran)


# --- apply ------------------------------------------------------------------------------------------


def test_apply_creates_then_unchanged_then_configured(cli, tmp_path, cfg):
    first = cli("apply", "--no-sync", "-f", str(cfg.dir))
    assert first.exit_code == 0, first.stderr
    assert lines(first.stdout) == CREATED
    again = cli("apply", "--no-sync", "-f", str(cfg.dir))
    assert again.exit_code == 0
    assert lines(again.stdout) == [line.replace("created", "unchanged") for line in CREATED]
    changed = tmp_path / "ws.yaml"
    changed.write_text(cfg.ws.read_text().replace("displayName: Bookinfo", "displayName: Other"))
    third = cli("apply", "--no-sync", "-f", str(changed))
    assert third.exit_code == 0
    assert lines(third.stdout) == ["workspace/bookinfo-ws configured"]
    assert "displayName: Other" in cli("get", "ws", "bookinfo-ws", "-o", "yaml").stdout


def test_apply_orders_child_first_documents(cli, tmp_path, cfg):
    documents = [cfg.settings.read_text(), cfg.ws.read_text(), *cfg.org.read_text().split("---\n")[::-1]]
    reversed_file = tmp_path / "reversed.yaml"
    reversed_file.write_text("---\n".join(documents))
    ran = cli("apply", "--no-sync", "-f", str(reversed_file))
    assert ran.exit_code == 0, ran.stderr
    assert sorted(lines(ran.stdout)) == sorted(CREATED)
    assert lines(cli("get", "wss", "-o", "name").stdout) == ["workspacesetting/bookinfo-ws-settings"]


def test_apply_orders_child_first_files(cli, cfg):
    ran = cli("apply", "--no-sync", "-f", str(cfg.settings), "-f", str(cfg.ws), "-f", str(cfg.org))
    assert ran.exit_code == 0, ran.stderr
    assert sorted(lines(ran.stdout)) == sorted(CREATED)


def test_apply_missing_parent_exits_3_and_writes_nothing(main_run, cli, cfg):
    ran = main_run("apply", "--no-sync", "-f", str(cfg.ws), "-f", str(cfg.settings))
    assert ran.exit_code == 3
    assert f"{cfg.ws}:6:" in ran.stderr  # the line naming the missing tenant
    assert "organizations/tse/tenants/tse" in ran.stderr
    assert ran.stdout == ""
    no_traceback(ran)
    for kind in ("ws", "wss"):
        got = cli("get", kind)
        assert got.exit_code == 0 and got.stdout == "" and "No resources found" in got.stderr


def test_apply_with_one_invalid_document_writes_nothing(main_run, cli, bad_file, cfg):
    ran = main_run("apply", "--no-sync", "-f", str(cfg.dir), "-f", str(bad_file))
    assert ran.exit_code == 3
    assert f"{bad_file}:11:16:" in ran.stderr
    assert "created" not in ran.stdout
    no_traceback(ran)
    for kind in ("org", "tenants", "ws", "wss"):
        assert "No resources found" in cli("get", kind).stderr


def test_apply_same_object_twice_is_refused(main_run, cli, cfg):
    ran = main_run("apply", "--no-sync", "-f", str(cfg.org), "-f", str(cfg.org))
    assert ran.exit_code == 3
    assert "defined twice" in ran.stderr
    assert "No resources found" in cli("get", "org").stderr


def _second_setting(workspace: str) -> str:
    return f"""\
apiVersion: api.tsb.tetrate.io/v2
kind: WorkspaceSetting
metadata:
  name: second-settings
  workspace: {workspace}
  tenant: tse
  organization: tse
"""


@pytest.mark.parametrize("workspace", ["bookinfo-ws", "parent-ws"])
def test_apply_second_setting_of_a_stored_workspace_is_refused_on_its_name(
    main_run, cli, cfg, tmp_path, workspace
):
    """The store allows one WorkspaceSetting per workspace; the refusal points at the new setting's
    name, whatever the workspace is called (even a name containing "parent")."""
    for path in (cfg.org, cfg.ws, cfg.settings):
        path.write_text(path.read_text().replace("bookinfo-ws", workspace))
    assert cli("apply", "--no-sync", "-f", str(cfg.dir)).exit_code == 0
    second = tmp_path / "second.yaml"
    second.write_text(_second_setting(workspace))
    ran = main_run("apply", "--no-sync", "-f", str(second))
    assert ran.exit_code == 3
    problem = lines(ran.stderr)[0]
    assert problem.startswith(f"{second}:4:9: WorkspaceSetting second-settings: $.metadata.name: "), problem
    assert "only one WorkspaceSetting" in problem
    assert "apply the parent first" not in ran.stderr
    first_name = "bookinfo-ws-settings".replace("bookinfo-ws", workspace)
    assert lines(cli("get", "wss", "-o", "name").stdout) == [f"workspacesetting/{first_name}"]


def test_validate_of_a_folder_without_documents_is_an_error(main_run, tmp_path):
    """SPEC §6: an input with no documents is an error, be it an empty file or a folder
    holding no .yaml/.yml/.json file."""
    folder = tmp_path / "nothing-here"
    folder.mkdir()
    (folder / "notes.txt").write_text("a: 1\n")
    empty_file = tmp_path / "empty.yaml"
    empty_file.write_text("")
    assert main_run("validate", "-f", str(empty_file)).exit_code == 3
    ran = main_run("validate", "-f", str(folder))
    assert ran.exit_code in (2, 3), ran.stderr
    assert "nothing-here" in ran.stderr
    no_traceback(ran)


def test_apply_of_a_folder_without_documents_is_an_error(main_run, tmp_path):
    folder = tmp_path / "nothing-here"
    folder.mkdir()
    ran = main_run("apply", "--no-sync", "-f", str(folder))
    assert ran.exit_code in (2, 3), ran.stderr
    assert "nothing-here" in ran.stderr


def test_apply_stdin(cli, cfg):
    ran = cli("apply", "--no-sync", "-f", "-", input=cfg.org.read_text())
    assert ran.exit_code == 0, ran.stderr
    assert lines(ran.stdout) == CREATED[:2]


def test_dry_run_on_an_empty_store_shows_creations_and_writes_nothing(cli, store, cfg):
    ran = cli("apply", "--no-sync", "--dry-run=client", "-f", str(cfg.dir))
    assert ran.exit_code == 1
    assert lines(ran.stdout)[:4] == [f"{line} (dry run)" for line in CREATED]
    assert "--- /dev/null\n+++ b/organizations/tse\n" in ran.stdout
    assert "+kind: Organization" in ran.stdout
    assert "No resources found" in cli("get", "org").stderr


def test_dry_run_exit_0_when_nothing_would_change(cli, applied, cfg):
    ran = cli("apply", "--no-sync", "--dry-run=client", "-f", str(cfg.dir))
    assert ran.exit_code == 0
    assert lines(ran.stdout) == [line.replace("created", "unchanged (dry run)") for line in CREATED]
    assert "---" not in ran.stdout and "+++" not in ran.stdout


def test_dry_run_of_a_change_is_a_unified_diff(cli, applied, tmp_path, cfg):
    changed = tmp_path / "ws.yaml"
    changed.write_text(cfg.ws.read_text().replace("displayName: Bookinfo", "displayName: Other"))
    ran = cli("apply", "--no-sync", "--dry-run=client", "-f", str(changed))
    assert ran.exit_code == 1
    out = lines(ran.stdout)
    assert out[0] == "workspace/bookinfo-ws configured (dry run)"
    assert out[1:3] == [
        "--- a/organizations/tse/tenants/tse/workspaces/bookinfo-ws",
        "+++ b/organizations/tse/tenants/tse/workspaces/bookinfo-ws",
    ]
    assert "-  displayName: Bookinfo" in out and "+  displayName: Other" in out
    assert "displayName: Bookinfo" in cli("get", "ws", "bookinfo-ws", "-o", "yaml").stdout


def test_bare_dry_run_means_client(main_run, cli, applied, tmp_path, cfg):
    changed = tmp_path / "ws.yaml"
    changed.write_text(cfg.ws.read_text().replace("displayName: Bookinfo", "displayName: Other"))
    ran = main_run("apply", "--no-sync", "--dry-run", "-f", str(changed))
    assert ran.exit_code == 1, ran.stderr
    assert "+  displayName: Other" in ran.stdout
    unchanged = main_run("apply", "--no-sync", "-f", str(cfg.dir), "--dry-run")  # last argument, no value
    assert unchanged.exit_code == 0, unchanged.stderr
    assert "displayName: Bookinfo" in cli("get", "ws", "bookinfo-ws", "-o", "yaml").stdout


def test_bare_dry_run_in_a_subprocess(proc, store, cfg):
    ran = proc("apply", "--no-sync", "--dry-run", "-f", str(cfg.dir))
    assert ran.exit_code == 1, ran.stderr
    assert "organization/tse created (dry run)" in ran.stdout
    assert "No resources found" in proc("get", "org").stderr


def test_dry_run_does_not_create_the_store(cli, store, cfg):
    cli("apply", "--no-sync", "--dry-run=client", "-f", str(cfg.dir))
    assert not store.exists()


def test_dry_run_with_a_bad_value_exits_2(main_run, cfg):
    ran = main_run("apply", "--no-sync", "--dry-run=bogus", "-f", str(cfg.dir))
    assert ran.exit_code == 2
    assert "--dry-run" in ran.stderr
    no_traceback(ran)


def test_ingressgateway_without_cluster_exits_2(main_run, cli, cfg):
    ran = main_run("apply", "--no-sync", "-f", str(cfg.gateway))
    assert ran.exit_code == 2
    assert "--cluster" in ran.stderr
    no_traceback(ran)


def test_ingressgateway_without_cluster_writes_no_configuration_either(main_run, cli, cfg):
    ran = main_run("apply", "--no-sync", "-f", str(cfg.gateway), "-f", str(cfg.dir))
    assert ran.exit_code == 2
    assert "No resources found" in cli("get", "org").stderr


# --- get ----------------------------------------------------------------------------------------------


@pytest.fixture()
def with_cluster(cli, applied, tmp_path):
    path = tmp_path / "cluster.yaml"
    path.write_text(CLUSTER)
    assert cli("apply", "--no-sync", "-f", str(path)).exit_code == 0


@pytest.mark.parametrize(
    ("kind", "header", "row"),
    [
        ("organizations", ["NAME", "DISPLAY", "NAME"], ["tse", "TSE"]),
        ("tenants", ["NAME", "ORGANIZATION", "DISPLAY", "NAME"], ["tse", "tse", "TSE"]),
        (
            "workspaces",
            ["NAME", "TENANT", "NAMESPACES", "DISPLAY", "NAME"],
            ["bookinfo-ws", "tse", "*/bookinfo", "Bookinfo"],
        ),
        (
            "workspacesettings",
            ["NAME", "WORKSPACE", "EAST-WEST", "GATEWAYS", "EXPOSED"],
            [
                "bookinfo-ws-settings",
                "bookinfo-ws",
                "bookinfo/app=eastwest-gateway",
                "app=details",
                "|",
                "app=reviews",
            ],
        ),
        ("clusters", ["NAME", "NETWORK", "REGION", "DISPLAY", "NAME"], ["cluster-1", "vpc-1", "eu-west-2"]),
    ],
)
def test_get_table(cli, with_cluster, kind, header, row):
    ran = cli("get", kind)
    assert ran.exit_code == 0, ran.stderr
    out = lines(ran.stdout)
    assert len(out) == 2
    assert out[0].split() == header
    assert out[1].split() == row
    assert all(line == line.rstrip() for line in out)


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        ("org", {"DESCRIPTION"}),
        ("tenants", {"DESCRIPTION"}),
        ("ws", {"ORGANIZATION", "DESCRIPTION"}),
        ("wss", {"TENANT", "ORGANIZATION"}),
        ("clusters", {"ORGANIZATION", "DESCRIPTION"}),
    ],
)
def test_get_wide_adds_columns(cli, with_cluster, kind, extra):
    table = lines(cli("get", kind).stdout)
    wide = lines(cli("get", kind, "-o", "wide").stdout)
    assert len(table) == len(wide) == 2
    assert not extra & set(table[0].split())
    assert extra <= set(wide[0].split())
    assert wide[1].split()[0] == table[1].split()[0]
    if kind == "org":
        assert wide[1].endswith("Organization of the bookinfo example")


@pytest.mark.parametrize("alias", ["organizations", "organization", "org", "Organizations", "ORG"])
def test_get_kind_aliases(cli, applied, alias):
    assert lines(cli("get", alias, "-o", "name").stdout) == ["organization/tse"]


@pytest.mark.parametrize(
    ("alias", "expected"),
    [
        ("ws", "workspace/bookinfo-ws"),
        ("workspace", "workspace/bookinfo-ws"),
        ("wss", "workspacesetting/bookinfo-ws-settings"),
        ("tenant", "tenant/tse"),
        ("cluster", "cluster/cluster-1"),
    ],
)
def test_get_name(cli, with_cluster, alias, expected):
    ran = cli("get", alias, "-o", "name")
    assert ran.exit_code == 0
    assert lines(ran.stdout) == [expected]


def test_get_yaml_of_several_objects_is_a_list(cli, applied, tmp_path, cfg):
    second = tmp_path / "ws2.yaml"
    second.write_text(cfg.ws.read_text().replace("name: bookinfo-ws", "name: reviews-ws"))
    assert cli("apply", "--no-sync", "-f", str(second)).exit_code == 0
    data = yaml.safe_load(cli("get", "ws", "-o", "yaml").stdout)
    assert data["kind"] == "List" and data["apiVersion"] == "v1"
    assert [item["metadata"]["name"] for item in data["items"]] == ["bookinfo-ws", "reviews-ws"]
    as_json = json.loads(cli("get", "ws", "-o", "json").stdout)
    assert as_json == data


def test_get_yaml_of_one_kind_without_name_is_still_a_list(cli, applied):
    assert yaml.safe_load(cli("get", "org", "-o", "yaml").stdout)["kind"] == "List"


def test_get_named_object_is_the_object_itself(cli, applied, cfg):
    ran = cli("get", "ws", "bookinfo-ws", "-o", "yaml")
    assert ran.exit_code == 0
    assert yaml.safe_load(ran.stdout) == yaml.safe_load(cfg.ws.read_text())
    as_json = cli("get", "ws", "bookinfo-ws", "-o", "json")
    assert json.loads(as_json.stdout) == yaml.safe_load(cfg.ws.read_text())


@pytest.mark.parametrize("kind", ["org", "tenants", "ws", "wss", "clusters"])
@pytest.mark.parametrize("output", ["yaml", "json"])
def test_round_trip_is_unchanged(cli, with_cluster, kind, output):
    printed = cli("get", kind, "-o", output)
    assert printed.exit_code == 0
    ran = cli("apply", "--no-sync", "-f", "-", input=printed.stdout)
    assert ran.exit_code == 0, ran.stderr
    out = lines(ran.stdout)
    assert out and all(line.endswith(" unchanged") for line in out), out


def test_round_trip_of_one_named_object(cli, applied):
    printed = cli("get", "wss", "bookinfo-ws-settings", "-o", "yaml").stdout
    assert lines(cli("apply", "--no-sync", "-f", "-", input=printed).stdout) == [
        "workspacesetting/bookinfo-ws-settings unchanged"
    ]


def test_round_trip_through_a_pipe(proc, tmp_path, cfg):
    assert proc("apply", "--no-sync", "-f", str(cfg.dir)).exit_code == 0
    printed = proc("get", "wss", "-o", "yaml")
    ran = proc("apply", "--no-sync", "-f", "-", input=printed.stdout)
    assert ran.exit_code == 0, ran.stderr
    assert lines(ran.stdout) == ["workspacesetting/bookinfo-ws-settings unchanged"]


@pytest.fixture()
def two_tenants(cli, applied, tmp_path):
    """tse/tse/bookinfo-ws (from the example), plus tse/other/bookinfo-ws and org2/tse/w2."""
    text = """\
apiVersion: api.tsb.tetrate.io/v2
kind: Tenant
metadata: {name: other, organization: tse}
---
apiVersion: api.tsb.tetrate.io/v2
kind: Workspace
metadata: {name: bookinfo-ws, tenant: other, organization: tse}
spec: {namespaceSelector: {names: ["*/other"]}}
---
apiVersion: api.tsb.tetrate.io/v2
kind: WorkspaceSetting
metadata: {name: other-settings, workspace: bookinfo-ws, tenant: other, organization: tse}
---
apiVersion: api.tsb.tetrate.io/v2
kind: Organization
metadata: {name: org2}
---
apiVersion: api.tsb.tetrate.io/v2
kind: Tenant
metadata: {name: tse, organization: org2}
---
apiVersion: api.tsb.tetrate.io/v2
kind: Workspace
metadata: {name: w2, tenant: tse, organization: org2}
spec: {namespaceSelector: {names: ["*/w2"]}}
"""
    path = tmp_path / "more.yaml"
    path.write_text(text)
    ran = cli("apply", "--no-sync", "-f", str(path))
    assert ran.exit_code == 0, ran.stderr


def names(ran) -> list[str]:
    return sorted(lines(ran.stdout))


def test_get_filters(cli, two_tenants):
    assert names(cli("get", "ws", "-o", "name")) == [
        "workspace/bookinfo-ws",
        "workspace/bookinfo-ws",
        "workspace/w2",
    ]
    assert names(cli("get", "ws", "--org", "org2", "-o", "name")) == ["workspace/w2"]
    assert names(cli("get", "ws", "--organization", "tse", "-o", "name")) == ["workspace/bookinfo-ws"] * 2
    assert names(cli("get", "ws", "--tenant", "other", "-o", "name")) == ["workspace/bookinfo-ws"]
    assert names(cli("get", "ws", "--org", "tse", "--tenant", "tse", "-o", "name")) == [
        "workspace/bookinfo-ws"
    ]
    assert names(cli("get", "tenants", "--org", "org2", "-o", "name")) == ["tenant/tse"]
    assert names(cli("get", "wss", "--tenant", "other", "--workspace", "bookinfo-ws", "-o", "name")) == [
        "workspacesetting/other-settings"
    ]
    assert names(cli("get", "wss", "-w", "bookinfo-ws", "-o", "name")) == [
        "workspacesetting/bookinfo-ws-settings",
        "workspacesetting/other-settings",
    ]
    assert names(cli("get", "org", "--org", "org2", "-o", "name")) == ["organization/org2"]
    tenant_other = yaml.safe_load(cli("get", "ws", "bookinfo-ws", "--tenant", "other", "-o", "yaml").stdout)
    assert tenant_other["spec"]["namespaceSelector"]["names"] == ["*/other"]


def test_get_filter_matching_nothing(cli, two_tenants):
    ran = cli("get", "ws", "--org", "nope")
    assert ran.exit_code == 0
    assert ran.stdout == ""
    assert "No resources found" in ran.stderr


def test_get_nothing_says_so_on_stderr(cli):
    ran = cli("get", "ws")
    assert ran.exit_code == 0
    assert ran.stdout == ""
    assert ran.stderr.strip() == "No resources found"


def test_get_does_not_create_the_store(cli, store):
    cli("get", "ws")
    assert not store.exists()


def test_get_unknown_kind_exits_2(main_run):
    ran = main_run("get", "widgets")
    assert ran.exit_code == 2
    assert 'unknown resource type "widgets"' in ran.stderr
    assert "workspaces" in ran.stderr  # the hint lists the known kinds
    no_traceback(ran)


def test_get_missing_name_exits_3(main_run, cli, applied):
    ran = main_run("get", "ws", "nope")
    assert ran.exit_code == 3
    assert '"nope" not found' in ran.stderr
    assert ran.stdout == ""
    no_traceback(ran)


def test_get_bad_output_exits_2(main_run, applied):
    ran = main_run("get", "ws", "-o", "xml")
    assert ran.exit_code == 2
    assert ran.stderr.startswith('error: unknown output format "xml"; choose one of: table, wide, yaml,')
    no_traceback(ran)


# --- delete -------------------------------------------------------------------------------------------


def test_deleting_a_workspace_with_its_setting_is_refused(main_run, cli, applied):
    ran = main_run("delete", "--no-sync", "ws", "bookinfo-ws")
    assert ran.exit_code == 3
    assert "bookinfo-ws-settings" in ran.stderr and "--cascade" in ran.stderr
    assert ran.stdout == ""
    no_traceback(ran)
    assert lines(cli("get", "wss", "-o", "name").stdout) == ["workspacesetting/bookinfo-ws-settings"]


def test_delete_workspace_with_cascade_deletes_its_setting(cli, applied):
    ran = cli("delete", "--no-sync", "ws", "bookinfo-ws", "--cascade")
    assert ran.exit_code == 0, ran.stderr
    assert lines(ran.stdout) == [
        "workspacesetting/bookinfo-ws-settings deleted",
        "workspace/bookinfo-ws deleted",
    ]
    assert "No resources found" in cli("get", "wss").stderr
    assert "No resources found" in cli("get", "ws").stderr
    assert lines(cli("get", "tenants", "-o", "name").stdout) == ["tenant/tse"]


def test_delete_organization_with_cascade_deletes_everything_in_it(cli, with_cluster):
    ran = cli("delete", "--no-sync", "org", "tse", "--cascade")
    assert ran.exit_code == 0, ran.stderr
    assert sorted(lines(ran.stdout)) == sorted(
        [line.replace("created", "deleted") for line in CREATED] + ["cluster/cluster-1 deleted"]
    )
    assert lines(ran.stdout)[-1] == "organization/tse deleted"
    for kind in ("org", "tenants", "ws", "wss", "clusters"):
        assert "No resources found" in cli("get", kind).stderr


def test_delete_by_file(cli, applied, cfg):
    ran = cli("delete", "--no-sync", "-f", str(cfg.settings))
    assert ran.exit_code == 0, ran.stderr
    assert lines(ran.stdout) == ["workspacesetting/bookinfo-ws-settings deleted"]
    assert lines(cli("get", "ws", "-o", "name").stdout) == ["workspace/bookinfo-ws"]


def test_delete_by_folder(cli, applied, cfg):
    ran = cli("delete", "--no-sync", "-f", str(cfg.dir))
    assert ran.exit_code == 0, ran.stderr
    assert sorted(lines(ran.stdout)) == sorted(line.replace("created", "deleted") for line in CREATED)
    assert "No resources found" in cli("get", "org").stderr


def test_delete_unknown_name_deletes_nothing(main_run, cli, applied):
    ran = main_run("delete", "--no-sync", "ws", "nope")
    assert ran.exit_code == 3
    assert '"nope" not found' in ran.stderr
    assert ran.stdout == ""
    no_traceback(ran)
    assert lines(cli("get", "ws", "-o", "name").stdout) == ["workspace/bookinfo-ws"]


def test_delete_by_file_with_an_unknown_object_deletes_nothing(main_run, cli, cfg):
    assert cli("apply", "--no-sync", "-f", str(cfg.org)).exit_code == 0
    ran = main_run(
        "delete", "--no-sync", "-f", str(cfg.dir)
    )  # the workspace and its setting are not in the store
    assert ran.exit_code == 3
    assert "organizations/tse/tenants/tse/workspaces/bookinfo-ws" in ran.stderr
    assert ran.stdout == ""
    no_traceback(ran)
    assert lines(cli("get", "tenants", "-o", "name").stdout) == ["tenant/tse"]


def test_delete_ambiguous_name_needs_a_filter(main_run, cli, two_tenants):
    ran = main_run("delete", "--no-sync", "ws", "bookinfo-ws")
    assert ran.exit_code == 2
    assert "--tenant" in ran.stderr
    assert len(lines(cli("get", "ws", "-o", "name").stdout)) == 3
    narrowed = cli("delete", "--no-sync", "ws", "bookinfo-ws", "--tenant", "other", "--cascade")
    assert narrowed.exit_code == 0, narrowed.stderr
    assert lines(narrowed.stdout) == [
        "workspacesetting/other-settings deleted",
        "workspace/bookinfo-ws deleted",
    ]
    assert lines(cli("get", "wss", "-o", "name").stdout) == ["workspacesetting/bookinfo-ws-settings"]


@pytest.mark.parametrize("args", [("delete",), ("delete", "ws"), ("delete", "ws", "x", "-f", "{ws}")])
def test_delete_usage_errors(main_run, cfg, args):
    ran = main_run(*(arg.format(ws=cfg.ws) for arg in args))
    assert ran.exit_code == 2
    assert ran.stderr.strip()
    no_traceback(ran)


def test_delete_of_an_empty_store(main_run, store):
    ran = main_run("delete", "--no-sync", "org", "tse")
    assert ran.exit_code == 3
    assert not store.exists()


# --- global options, exit codes and errors in a real process ------------------------------------------------


def test_global_options_after_the_command(proc, tmp_path, cfg):
    other = tmp_path / "other.db"
    assert proc("apply", "--no-sync", "-f", str(cfg.org), "--store", str(other)).exit_code == 0
    ran = proc("get", "org", "--store", str(other), "-o", "name")
    assert ran.exit_code == 0, ran.stderr
    assert lines(ran.stdout) == ["organization/tse"]
    equals = proc("get", "tenants", f"--store={other}", "-o", "name")
    assert lines(equals.stdout) == ["tenant/tse"]
    before = proc("--store", str(other), "get", "org", "-o", "name")
    assert lines(before.stdout) == ["organization/tse"]
    # TCTL_STORE (set by `proc`) names another, empty store
    assert "No resources found" in proc("get", "org").stderr


def test_store_from_the_environment(proc, store, cfg):
    assert proc("apply", "--no-sync", "-f", str(cfg.org)).exit_code == 0
    assert store.exists()
    assert lines(proc("get", "org", "-o", "name").stdout) == ["organization/tse"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("validate", "-f", "/nonexistent/x.yaml"), 2, "does not exist"),
        (("validate",), 2, "-f"),
        (("validate", "-f", "{dir}", "-o", "xml"), 2, "xml"),
        (("apply", "--no-sync", "-f", "{ws}"), 3, "does not exist"),
        (("apply", "-f", "{gateway}"), 2, "--cluster"),
        (("apply", "--dry-run=bogus", "-f", "{dir}"), 2, "--dry-run"),
        (("get", "widgets"), 2, "unknown resource type"),
        (("get", "ws", "nope"), 3, "not found"),
        (("delete", "--no-sync", "ws", "nope"), 3, "not found"),
        (("delete",), 2, "KIND NAME"),
        (("frobnicate",), 2, "frobnicate"),
    ],
)
def test_errors_in_a_process(proc, cfg, args, code, message):
    ran = proc(*(arg.format(dir=cfg.dir, ws=cfg.ws, gateway=cfg.gateway) for arg in args))
    assert ran.exit_code == code, ran.stderr
    assert message in ran.stderr
    no_traceback(ran)


def test_invalid_input_in_a_process(proc, bad_file):
    ran = proc("apply", "--no-sync", "-f", str(bad_file))
    assert ran.exit_code == 3
    assert f"{bad_file}:11:16: Workspace broken-ws: $.spec.displayName:" in ran.stderr
    assert ran.stdout == ""
    no_traceback(ran)


@pytest.mark.parametrize("args", [("--debug", "get", "ws", "nope"), ("get", "ws", "nope", "--debug")])
def test_debug_shows_the_traceback(proc, args):
    ran = proc(*args)
    assert ran.exit_code != 0
    assert "Traceback" in ran.stderr
    assert "NotFound" in ran.stderr


def test_version(cli, proc):
    ran = cli("--version", store_option=False)
    assert ran.exit_code == 0
    assert ran.stdout.strip() == f"tctl {__version__}"
    in_process = proc("--version")
    assert in_process.exit_code == 0 and in_process.stdout.strip() == f"tctl {__version__}"


def test_help(cli, proc):
    ran = cli("--help", store_option=False)
    assert ran.exit_code == 0
    for command in ("validate", "apply", "get", "delete"):
        assert command in ran.stdout
    for option in ("--store", "--kubeconfig", "--fleet", "--debug", "--version"):
        assert option in ran.stdout
    assert "store.db" in ran.stdout  # the default store is named
    short = proc("-h")
    assert short.exit_code == 0 and "Usage" in short.stdout


@pytest.mark.parametrize("command", ["validate", "apply", "get", "delete"])
def test_command_help(cli, command):
    ran = cli(command, "--help", store_option=False)
    assert ran.exit_code == 0
    assert "Usage" in ran.stdout and command in ran.stdout


def test_no_arguments_prints_help(proc):
    ran = proc()
    assert ran.exit_code in (0, 2)
    assert "Usage" in ran.stdout + ran.stderr
    assert "validate" in ran.stdout + ran.stderr
    no_traceback(ran)


def test_apply_no_sync_without_any_fleet_only_stores_and_says_nothing_more(main_run):
    """No kubeconfig and no --fleet (HOME is empty here): --no-sync is how to only store."""
    ran = main_run("apply", "--no-sync", "-f", str(EXAMPLE / "config"))
    assert ran.exit_code == 0, ran.stderr
    assert ran.stderr == ""
    assert "workspacesetting/bookinfo-ws-settings created" in ran.stdout.splitlines()

"""kubectl's conventions on `tctl get`: KIND/NAME, several kinds, `all`, -l, -o jsonpath,
-o custom-columns, -o yml, and `clusters -o` (issue 11), on the example's snapshot fleet."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.support.cli import EXAMPLE

FLEET = EXAMPLE / "fleet"
GENERATED = {"ServiceEntry", "WorkloadEntry", "DestinationRule", "Gateway"}


@pytest.fixture()
def tctl(main_run, cfg):
    """tctl on the snapshot fleet with the example configuration applied; the workspace
    setting carries the label team=bookinfo (its generated objects carry it too)."""
    text = cfg.settings.read_text()
    assert "\nmetadata:\n" in text
    cfg.settings.write_text(text.replace("\nmetadata:\n", "\nmetadata:\n  labels:\n    team: bookinfo\n", 1))

    def run(*args: str):
        return main_run("--fleet", str(FLEET), *args)

    ran = run("apply", "-f", str(cfg.dir))
    assert ran.exit_code == 0, ran.stderr
    return run


def ok(ran) -> str:
    assert ran.exit_code == 0, ran.stderr
    return ran.stdout


def test_kind_slash_name_is_kind_then_name(tctl):
    one = ok(tctl("get", "se/details.bookinfo", "--cluster", "cluster-3", "-o", "yaml"))
    assert one == ok(tctl("get", "se", "details.bookinfo", "--cluster", "cluster-3", "-o", "yaml"))
    assert yaml.safe_load(one)["kind"] == "ServiceEntry"  # one object, not a List
    assert ok(tctl("get", "ws/bookinfo-ws", "-o", "name")) == "workspace/bookinfo-ws\n"


def test_kind_slash_name_with_a_second_name_is_a_usage_error(tctl):
    ran = tctl("get", "ws/bookinfo-ws", "other")
    assert ran.exit_code == 2
    assert "give the name once" in ran.stderr


def test_several_kinds_print_one_table_each_in_the_order_asked(tctl):
    text = ok(tctl("get", "se,we", "-A"))
    first, second = text.split("\n\n")
    first += "\n"  # the blank line between the tables follows the first one's last line
    assert first.split()[:6] == ["CLUSTER", "NAMESPACE", "NAME", "HOSTS", "LOCATION", "RESOLUTION"]
    assert second.split()[:4] == ["CLUSTER", "NAMESPACE", "NAME", "ADDRESS"]
    assert first == ok(tctl("get", "se", "-A"))
    assert second == ok(tctl("get", "we", "-A"))


def test_several_kinds_in_yaml_are_one_list(tctl):
    items = yaml.safe_load(ok(tctl("get", "se,dr", "-A", "-o", "yaml")))["items"]
    assert {item["kind"] for item in items} == {"ServiceEntry", "DestinationRule"}
    names = ok(tctl("get", "se,dr", "-A", "-o", "name")).splitlines()
    assert len(names) == len(items)


def test_all_is_every_generated_kind(tctl):
    items = yaml.safe_load(ok(tctl("get", "all", "-A", "-o", "yaml")))["items"]
    assert {item["kind"] for item in items} == GENERATED
    per_kind = sum(
        len(yaml.safe_load(ok(tctl("get", kind, "-A", "-o", "yaml")))["items"])
        for kind in ("se", "we", "dr", "gw")
    )
    assert len(items) == per_kind


def test_configuration_and_generated_kinds_together_are_refused(tctl):
    ran = tctl("get", "ws,se")
    assert ran.exit_code == 2
    assert "cannot be listed together" in ran.stderr


def test_several_configuration_kinds(tctl):
    names = ok(tctl("get", "org,ws,wss", "-o", "name")).splitlines()
    assert names == ["organization/tse", "workspace/bookinfo-ws", "workspacesetting/bookinfo-ws-settings"]


@pytest.mark.parametrize(
    ("selector", "found"),
    [
        ("team=bookinfo", True),
        ("team==bookinfo", True),
        ("team!=bookinfo", False),
        ("team in (other,bookinfo)", True),
        ("team notin (bookinfo)", False),
        ("team", True),
        ("!team", False),
        ("team=bookinfo,app.kubernetes.io/managed-by=tctl", True),
    ],
)
def test_selector_on_generated_objects(tctl, selector, found):
    ran = tctl("get", "se", "-A", "-l", selector, "-o", "name")
    assert ran.exit_code == 0, ran.stderr
    if found:
        assert ran.stdout.splitlines() == ok(tctl("get", "se", "-A", "-o", "name")).splitlines()
    else:
        assert ran.stdout == ""
        assert "No resources found" in ran.stderr


def test_selector_on_configuration(tctl):
    assert ok(tctl("get", "wss", "--selector", "team=bookinfo", "-o", "name")) == (
        "workspacesetting/bookinfo-ws-settings\n"
    )
    ran = tctl("get", "wss", "-l", "team=other")
    assert ran.exit_code == 0 and ran.stdout == "" and "No resources found" in ran.stderr


def test_a_selector_that_cannot_be_read_is_a_usage_error(tctl):
    ran = tctl("get", "se", "-A", "-l", "team in bookinfo")
    assert ran.exit_code == 2
    assert ran.stderr.startswith(
        'error: bad --selector: cannot read the label requirement "team in bookinfo"'
    )


def test_jsonpath_of_a_list(tctl):
    text = ok(tctl("get", "se", "-A", "-o", "jsonpath={.items[*].metadata.name}"))
    assert text == "details.bookinfo reviews.bookinfo"
    ranged = ok(
        tctl(
            "get",
            "se",
            "-A",
            "-o",
            'jsonpath={range .items[*]}{.metadata.name}{"\\t"}{.spec.hosts[0]}{"\\n"}{end}',
        )
    )
    assert ranged == (
        "details.bookinfo\tdetails.bookinfo.svc.cluster.local\nreviews.bookinfo\treviews.bookinfo.svc.cluster.local\n"
    )


def test_jsonpath_of_one_named_object_reads_the_object(tctl):
    text = ok(tctl("get", "ws", "bookinfo-ws", "-o", "jsonpath={.spec.displayName}"))
    assert text == "Bookinfo"


def test_jsonpath_that_cannot_be_read_is_a_usage_error(tctl):
    ran = tctl("get", "se", "-A", "-o", "jsonpath={range .items[*]}")
    assert ran.exit_code == 2
    assert ran.stderr.startswith("error: bad jsonpath template:")


@pytest.mark.parametrize("output", ["jsonpath", "custom-columns"])
def test_a_template_format_without_its_template_says_so(tctl, output):
    ran = tctl("get", "ws", "-o", output)
    assert ran.exit_code == 2
    assert ran.stderr.startswith(f"error: -o {output} needs a template: -o {output}=")


def test_custom_columns(tctl):
    text = ok(tctl("get", "se", "-A", "-o", "custom-columns=NAME:.metadata.name,HOST:.spec.hosts[0],X:.nope"))
    assert text.splitlines() == [
        "NAME               HOST                                 X",
        "details.bookinfo   details.bookinfo.svc.cluster.local   <none>",
        "reviews.bookinfo   reviews.bookinfo.svc.cluster.local   <none>",
    ]


def test_yml_is_yaml(tctl):
    assert ok(tctl("get", "ws", "-o", "yml")) == ok(tctl("get", "ws", "-o", "yaml"))


def test_wide_adds_columns(tctl):
    narrow, wide = ok(tctl("get", "ws")), ok(tctl("get", "ws", "-o", "wide"))
    assert "ORGANIZATION" in wide.splitlines()[0] and "ORGANIZATION" not in narrow.splitlines()[0]


@pytest.mark.parametrize("output", ["yaml", "json"])
def test_clusters_for_machines(tctl, output):
    text = ok(tctl("clusters", "-o", output))
    document = yaml.safe_load(text) if output == "yaml" else json.loads(text)
    assert document["kind"] == "List"
    clusters = {item["name"]: item for item in document["items"]}
    assert sorted(clusters) == ["cluster-1", "cluster-2", "cluster-3"]
    assert clusters["cluster-1"]["reachable"] is True
    assert clusters["cluster-1"]["server"] == ""  # a snapshot has no API server
    assert clusters["cluster-1"]["services"] == 5
    assert clusters["cluster-2"]["gatewayAddresses"] == ["198.51.100.20", "198.51.100.21"]


DEAD_KUBECONFIG = """\
apiVersion: v1
kind: Config
current-context: dead
clusters:
- name: dead
  cluster:
    server: https://127.0.0.1:1
contexts:
- name: dead
  context:
    cluster: dead
    user: nobody
users:
- name: nobody
  user:
    token: not-a-secret
"""


def test_clusters_wide_tells_why_a_cluster_could_not_be_read(main_run, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(DEAD_KUBECONFIG)  # nothing listens on port 1
    ran = main_run("--kubeconfig", str(kubeconfig), "--request-timeout", "2", "clusters", "-o", "wide")
    assert ran.exit_code == 4
    header, row = ran.stdout.splitlines()
    assert header.split()[-1] == "ERROR"
    assert row.startswith("dead ") and " no " in row
    assert len(row) > len(header)  # the reason is in the last column


def test_clusters_refuses_formats_it_has_not(tctl):
    ran = tctl("clusters", "-o", "name")
    assert ran.exit_code == 2
    assert 'unknown output format "name"; choose one of: table, wide, yaml, json' in ran.stderr

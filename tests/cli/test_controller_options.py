"""`tctl controller`: wrong options are usage errors (exit 2) that say what to fix, before any
cluster is contacted."""

from __future__ import annotations

import pytest


@pytest.fixture
def kubeconfig(tmp_path, monkeypatch):
    path = tmp_path / "kubeconfig.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: one\n"
        "clusters: [{name: one, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: one, user: {token: t}}]\n"
        "contexts: [{name: one, context: {cluster: one, user: one}}]\n"
    )
    monkeypatch.setenv("KUBECONFIG", str(path))
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lease-cluster", "nowhere"], "--lease-cluster nowhere: no such context"),
        (
            ["--lease-duration", "5", "--renew-deadline", "10"],
            "lease duration > renew deadline > retry period",
        ),
        (["--retry-period", "0"], "lease duration > renew deadline > retry period > 0"),
        (["--log-format", "xml"], '--log-format must be "text" or "json"'),
    ],
)
def test_wrong_options_are_usage_errors(main_run, kubeconfig, args, message) -> None:
    ran = main_run("controller", "--leader-elect", *args)
    assert ran.exit_code == 2, ran.stderr
    assert message in ran.stderr and "Traceback" not in ran.stderr

"""Global options may follow the command (`tctl get se --fleet DIR`); argv is rewritten so."""

from __future__ import annotations

import pytest

from tctl_py.cli.state import hoist_global_options


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["get", "se", "--fleet", "F"], ["--fleet", "F", "get", "se"]),
        (["get", "se", "--fleet=F", "-A"], ["--fleet=F", "get", "se", "-A"]),
        (
            ["apply", "-f", "x.yaml", "--store", "S", "--debug", "--request-timeout", "2"],
            ["--store", "S", "--debug", "--request-timeout", "2", "apply", "-f", "x.yaml"],
        ),
        (["--kubeconfig", "K", "sync"], ["--kubeconfig", "K", "sync"]),
        (
            ["sync", "--cluster-timeout", "60", "--cluster", "c"],
            ["--cluster-timeout", "60", "sync", "--cluster", "c"],
        ),
        (["apply", "-f", "x", "--dry-run"], ["apply", "-f", "x", "--dry-run=client"]),
        (["apply", "-f", "x", "--dry-run=server"], ["apply", "-f", "x", "--dry-run=server"]),
        (["get", "ws", "--", "--store", "S"], ["get", "ws", "--", "--store", "S"]),
    ],
)
def test_global_options_are_moved_before_the_command(argv, expected):
    assert hoist_global_options(argv) == expected

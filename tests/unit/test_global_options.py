"""Global options may follow the command (`tctl get se --fleet DIR`); argv is rewritten so."""

from __future__ import annotations

import pytest

from tctl_py.cli.state import command_name, hoist_global_options


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


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--fleet", "F", "get", "se"], "get"),
        (["get", "se", "--fleet", "F"], "get"),
        (["--fleet=F", "--debug", "apply", "-f", "x"], "apply"),
        (["--store", "S", "store", "init"], "store"),
        (["--fleet"], None),
        (["--help"], None),
        (["-h", "get"], None),
        ([], None),
        (["--", "get"], None),
    ],
)
def test_the_command_is_the_first_word_after_the_global_options(argv, expected):
    assert command_name(argv) == expected


def test_a_command_run_alone_is_the_command_of_the_whole_group():
    """`tctl CMD ...` builds the click group of CMD alone (cheaper); CMD and the global options
    must be exactly what the whole group gives, for every command."""
    import typer

    from tctl_py.cli.app import _click_command, app

    def described(group, name: str) -> tuple:
        command = group.commands[name]
        context = typer.Context(command, info_name=name, parent=typer.Context(group, info_name="tctl"))
        return command.get_help(context), _params(command), _params(group)

    whole = typer.main.get_command(app)
    names = [info.name for info in app.registered_commands] + [info.name for info in app.registered_groups]
    assert sorted(names) == sorted(whole.commands)
    for name in names:
        alone = _click_command(["--fleet", "F", name, "--help"])
        assert list(alone.commands) == [name]
        assert described(alone, name) == described(whole, name)
    assert _click_command(["--help"]).commands.keys() == whole.commands.keys()
    assert _click_command(["nosuch"]).commands.keys() == whole.commands.keys()


def _params(command) -> list[tuple]:
    return [
        (
            p.name,
            p.opts,
            p.secondary_opts,
            repr(p.default),
            p.required,
            p.multiple,
            p.nargs,
            type(p.type).__name__,
            p.type.name,
        )
        for p in command.params
    ]

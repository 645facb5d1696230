"""The `tctl` entry point: global options, command registration, and the one place errors become exit codes.

Only typer and the standard library are imported here; every command imports what it needs when
it runs, so `tctl --help`, `--version` and completion stay fast and never load `kubernetes`.
"""

from __future__ import annotations

import copy
import gc
import os
import sys
import traceback
from typing import Optional

import typer
from typer._click.exceptions import ClickException

from tctl_py import __version__
from tctl_py.cli import (
    apply,
    clusters,
    completion,
    controller,
    delete,
    describe,
    diff,
    get,
    graph,
    render,
    snapshot,
    status,
    store,
    sync,
    validate,
    version,
)
from tctl_py.cli.interrupt import EXIT_INTERRUPTED, Interrupt, exit_now
from tctl_py.cli.shells import COMPLETE_VAR, answer
from tctl_py.cli.state import COLOR_MODES, OPTIONS, command_name, hoist_global_options
from tctl_py.cli.usage import Command, usage_error
from tctl_py.config import limits
from tctl_py.errors import ExitCode, InvalidInput, TctlError

app = typer.Typer(
    name="tctl",
    help="Expose services of Istio workspaces across clusters and fail over between them: "
    "validate and apply Tetrate-style configuration, then get, render or snapshot what it means "
    "for every cluster of the fleet.",
    no_args_is_help=True,
    rich_markup_mode=None,  # help and usage errors as plain text, as kubectl prints them
    add_completion=False,  # `tctl completion SHELL` prints the script; shells.answer replies
    pretty_exceptions_enable=False,  # errors are mapped in main(); never print locals (credentials)
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tctl {__version__}")
        raise typer.Exit()


@app.callback()
def global_options(
    kubeconfig: Optional[str] = typer.Option(
        None,
        "--kubeconfig",
        metavar="PATH",
        help="Kubeconfig of the fleet; without it, the files of KUBECONFIG (':'-separated, merged "
        "as kubectl does), else ~/.kube/config.",
    ),
    context: Optional[str] = typer.Option(
        None,
        "--context",
        metavar="NAME",
        help="The context to use, instead of the kubeconfig's current-context: like --cluster, "
        "commands that take --cluster work on this cluster alone; get shows it by default.",
    ),
    fleet: Optional[str] = typer.Option(
        None,
        "--fleet",
        envvar="TCTL_FLEET",
        show_envvar=True,
        metavar="DIR",
        help="Read the fleet from a snapshot folder instead of live clusters.",
    ),
    store: Optional[str] = typer.Option(
        None,
        "--store",
        envvar="TCTL_STORE",
        show_envvar=True,
        metavar="PATH|kube://CONTEXT/NAMESPACE",
        help="Where applied configuration is kept: a SQLite file (default: "
        "~/.local/state/tctl/store.db) or custom resources in a namespace of a cluster.",
    ),
    request_timeout: float = typer.Option(
        10.0,
        "--request-timeout",
        envvar="TCTL_REQUEST_TIMEOUT",
        show_envvar=True,
        min=0.1,
        metavar="SECONDS",
        help="How long to wait for an API server to answer one request (for a connection: at most 3 s).",
    ),
    cluster_timeout: Optional[float] = typer.Option(
        None,
        "--cluster-timeout",
        envvar="TCTL_CLUSTER_TIMEOUT",
        show_envvar=True,
        min=0.1,
        metavar="SECONDS",
        help="Give up on a cluster that is not done this long after its first "
        "request (reads and writes together). Default: no limit; each request has its own.",
    ),
    concurrency: Optional[int] = typer.Option(
        None,
        "--concurrency",
        envvar="TCTL_CONCURRENCY",
        show_envvar=True,
        min=1,
        metavar="N",
        help="Writes sent at once to each cluster (default 8); the Namespace still goes before "
        "what is in it, DestinationRules before WorkloadEntries.",
    ),
    max_input_size: str = typer.Option(
        limits.DEFAULT_MAX_INPUT_SIZE,
        limits.OPTION,
        envvar=limits.ENV,
        show_envvar=True,
        metavar="SIZE",
        help="Largest input tctl reads: each -f file or stdin, snapshot file and "
        "kubeconfig (bytes, or with Ki, Mi, Gi).",
    ),
    color: str = typer.Option(
        "auto",
        "--color",
        metavar="WHEN",
        help="Colour diffs: auto (on a terminal, unless NO_COLOR is set), always or never.",
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    OPTIONS.kubeconfig, OPTIONS.fleet, OPTIONS.store, OPTIONS.debug = kubeconfig, fleet, store, debug
    OPTIONS.context = context
    OPTIONS.request_timeout, OPTIONS.cluster_timeout = request_timeout, cluster_timeout
    OPTIONS.concurrency = concurrency
    if color not in COLOR_MODES:
        raise typer.BadParameter(f'"{color}" is none of: {", ".join(COLOR_MODES)}', param_hint="'--color'")
    OPTIONS.color = color
    try:
        limits.max_input_size = limits.parse_size(max_input_size)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint=f"'{limits.OPTION}'") from None


app.command("validate", help=validate.HELP, cls=Command)(validate.command)
app.command("apply", help=apply.HELP, cls=Command)(apply.command)
app.command("get", help=get.HELP, cls=Command)(get.command)
app.command("delete", help=delete.HELP, cls=Command)(delete.command)
app.command("diff", help=diff.HELP, cls=Command)(diff.command)
app.command("sync", help=sync.HELP, cls=Command)(sync.command)
app.command("render", help=render.HELP, cls=Command)(render.command)
app.command("snapshot", help=snapshot.HELP, cls=Command)(snapshot.command)
app.command("clusters", help=clusters.HELP, cls=Command)(clusters.command)
app.command("status", help=status.HELP, cls=Command)(status.command)
app.command("graph", help=graph.HELP, cls=Command)(graph.command)
app.command("describe", help=describe.HELP, cls=Command)(describe.command)
app.command("version", help=version.HELP, cls=Command)(version.command)
app.command("completion", help=completion.HELP, cls=Command)(completion.command)
app.add_typer(store.app, name="store", help=store.HELP)
app.command("controller", help=controller.HELP, cls=Command)(controller.command)


def main(argv: list[str] | None = None) -> None:
    """Run tctl; every TctlError becomes its message on stderr and its exit code; Ctrl-C and
    SIGTERM become exit 130 (see `tctl_py.cli.interrupt`).

    Everything tctl prints goes through the redactor of credentials (`fleet/redaction.py`):
    stdout and stderr are wrapped for the whole run, `--debug` tracebacks included.
    """
    from tctl_py.fleet.redaction import RedactingStream

    # tctl builds large, acyclic trees (documents, nodes, objects) and exits: the cyclic
    # collector would only re-scan them over and over (loading 2,000 files took 3x longer).
    gc.disable()
    # File names that are not UTF-8 reach us as surrogates: print their bytes back, never fail.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="surrogateescape")
    args = hoist_global_options(sys.argv[1:] if argv is None else argv)
    OPTIONS.debug = "--debug" in args
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = RedactingStream(sys.stdout), RedactingStream(sys.stderr)
    interrupt = OPTIONS.interrupt = Interrupt()
    try:
        try:
            with interrupt.handling_signals():
                code = _run(args)
        except KeyboardInterrupt:
            code = EXIT_INTERRUPTED
        if interrupt.stop.is_set() and not interrupt.writing:
            # Before any write to a cluster (click turns the KeyboardInterrupt into an exit): nothing
            # to report or wait for; reads in flight are abandoned.
            sys.stderr.write("interrupted\n")
            exit_now(EXIT_INTERRUPTED)
        # writes were stopped: the report above says what was not done (unless the command
        # runs until asked to stop, as sync --watch: then that is a clean end)
        if interrupt.stop.is_set() and not interrupt.clean_stop:
            sys.stderr.write(
                'interrupted: objects reported "not done" were not written; run tctl sync to finish\n'
            )
            code = EXIT_INTERRUPTED
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout, sys.stderr = streams
    if argv is None:  # the process's own run (tests call main(argv) and catch SystemExit)
        # Output flushed and exit handlers run, the interpreter's teardown is skipped: freeing a
        # large run's objects one by one took 0.03-0.04 s of a 1.2 s no-op apply of 20 clusters.
        # The collector stays off: its first pass would visit every object the run made, all
        # still tracked as young (0.04 s after a 20-cluster no-op apply).
        exit_now(code)
    gc.enable()
    OPTIONS.kept.clear()
    sys.exit(code)


def _click_command(args: list[str]):
    """The click group that runs `args`: when they name a command, the group of that command
    alone (turning all 16 commands into click's costs 19 ms a run), else the whole group (its
    help, its errors for an unknown command)."""
    name = command_name(args)
    commands = [info for info in app.registered_commands if info.name == name]
    groups = [info for info in app.registered_groups if info.name == name]
    if not commands and not groups:
        return typer.main.get_command(app)
    one = copy.copy(app)
    one.registered_commands, one.registered_groups = commands, groups
    return typer.main.get_command(one)


def _run(args: list[str]) -> int:
    """The command's exit code."""
    try:
        if instruction := os.environ.get(COMPLETE_VAR):  # the shell asks what TAB offers
            return answer(typer.main.get_command(app), instruction)
        done = _click_command(args).main(args=args, prog_name="tctl", standalone_mode=False)
    except ClickException as error:  # a usage error, found before the command ran
        return usage_error(error)
    except typer.Abort:
        sys.stderr.write("aborted\n")
        return 1
    except SystemExit as exit_:  # how click ends every command
        if isinstance(exit_.code, str):  # sys.exit("message"), as Python would print it
            sys.stderr.write(f"{exit_.code}\n")
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except TctlError as error:
        if OPTIONS.debug:
            traceback.print_exc()
        _report(error)
        return int(error.exit_code)
    except Exception as error:  # noqa: BLE001 - a bug: say so plainly, keep the traceback behind --debug
        if OPTIONS.debug:
            traceback.print_exc()
        sys.stderr.write(
            f"error: internal error: {type(error).__name__}: {error}\n"
            "Run again with --debug for the traceback, and please report it.\n"
        )
        return int(ExitCode.INTERNAL)
    # click returns the code of a typer.Exit (or the command's return value, always None)
    return done if isinstance(done, int) else int(ExitCode.OK)


def _report(error: TctlError) -> None:
    if isinstance(error, InvalidInput):
        sys.stderr.write("".join(f"{problem}\n" for problem in error.problems))
    sys.stderr.write(f"error: {error.message}\n")
    if error.hint:
        sys.stderr.write(f"hint: {error.hint}\n")

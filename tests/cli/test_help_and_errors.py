"""Help and usage errors read like kubectl's: words for metavars, plain `error:` lines on stderr,
no Rich boxes (defect 9 of issue 11)."""

from __future__ import annotations

import re

import pytest
import typer

from tctl_py.cli.app import app

COMMANDS = sorted(typer.main.get_command(app).commands)  # every command registered
BOX = re.compile("[\u2500-\u257f]")  # box-drawing characters


def test_top_help_is_plain_text(proc):
    ran = proc("--help")
    assert ran.exit_code == 0
    assert ran.stdout.startswith("Usage: tctl [OPTIONS] COMMAND [ARGS]...\n")
    assert not BOX.search(ran.stdout)
    assert "--color WHEN" in ran.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_every_command_shows_words_not_python_types(main_run, command):
    ran = main_run(command, "--help", store_option=False)
    assert ran.exit_code == 0, ran.stderr
    assert ran.stdout.startswith(f"Usage: tctl {command} [OPTIONS]")
    assert not re.search(r"<(bool|str|int|float|list\[str\]|path)>", ran.stdout), ran.stdout
    assert "{" not in ran.stdout.splitlines()[0]
    assert not BOX.search(ran.stdout)


def test_get_usage_names_its_arguments_as_kubectl_does(main_run):
    ran = main_run("get", "--help", store_option=False)
    assert ran.stdout.splitlines()[0] == "Usage: tctl get [OPTIONS] KIND [NAME]"
    assert re.search(r"^  -n, --namespace NAMESPACE +Only this namespace\.$", ran.stdout, re.M)
    assert re.search(r"^  -A, --all-clusters +", ran.stdout, re.M)  # a flag takes no value


def test_a_missing_argument_is_one_plain_error_in_a_pipe(proc):
    ran = proc("get")
    assert ran.exit_code == 2
    assert ran.stdout == ""
    assert ran.stderr == "error: missing argument 'KIND'\nSee 'tctl get --help' for usage.\n"


def test_an_unknown_option_is_a_plain_error(proc):
    ran = proc("clusters", "--bogus")
    assert ran.exit_code == 2
    assert ran.stderr == "error: unknown flag: --bogus\nSee 'tctl clusters --help' for usage.\n"
    assert not BOX.search(ran.stderr)


def test_a_bad_output_format_lists_the_formats(proc, tmp_path):
    ran = proc("validate", "-f", str(tmp_path), "-o", "xml")
    assert ran.exit_code == 2
    assert ran.stderr == 'error: unknown output format "xml"; choose one of: text, json, junit, github\n'


def test_a_bad_number_is_a_plain_error(proc):
    ran = proc("--request-timeout", "soon", "clusters")
    assert ran.exit_code == 2
    assert "Value error" not in ran.stderr
    assert ran.stderr.startswith("error: invalid value for '--request-timeout'")
    assert not BOX.search(ran.stderr)


def test_an_unknown_command_is_a_plain_error(proc):
    ran = proc("gte")
    assert ran.exit_code == 2
    assert ran.stderr.startswith("error: no such command 'gte'")
    assert not BOX.search(ran.stderr)


def test_a_mistyped_flag_gets_a_suggestion(proc):
    ran = proc("get", "se", "--namespce", "x")
    assert ran.exit_code == 2
    assert ran.stderr.startswith("error: unknown flag: --namespce (did you mean --namespace?)\n")

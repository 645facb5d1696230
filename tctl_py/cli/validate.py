"""`tctl validate`: offline checks of configuration files, for editors and pipelines."""

from __future__ import annotations

import enum

import typer

from tctl_py.cli.common import Filenames, Recursive, err, out, read_inputs
from tctl_py.errors import ExitCode

HELP = """Validate configuration files offline: YAML, JSON schemas and tctl's own rules.

Every problem of every file is printed as FILE:LINE:COLUMN: KIND NAME: PATH: message. Exit codes: 0 all valid, 3 problems found, 2 usage error.

Namespace selectors (Workspace spec.namespaceSelector.names) are <cluster>/<namespace>: the cluster is "*" or a name, the namespace "*", a name, or a prefix "ns*".
"""


class Format(str, enum.Enum):
    text = "text"
    json = "json"
    junit = "junit"
    github = "github"


def command(
    filenames: list[str] = Filenames,
    recursive: bool = Recursive,
    output: Format = typer.Option(Format.text, "-o", "--output", help="Report format."),
) -> None:
    from tctl_py.output import problems as report

    loaded, problems = read_inputs(filenames, recursive)
    documents, files = len(loaded.documents), len(loaded.files)
    if output is Format.text:
        err(report.as_text(problems))
        err(report.summary(problems, documents, files) + "\n")
    elif output is Format.json:
        out(report.as_json(problems, documents, files))
    elif output is Format.junit:
        out(report.as_junit(problems, loaded.files))
    else:
        out(report.as_github(problems))
        err(report.summary(problems, documents, files) + "\n")
    if problems:
        raise typer.Exit(int(ExitCode.INVALID))

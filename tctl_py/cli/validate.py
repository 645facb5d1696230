"""`tctl validate`: offline checks of configuration files, for editors and pipelines."""

from __future__ import annotations

import typer

from tctl_py.cli.common import Filenames, Recursive, err, out, read_inputs
from tctl_py.errors import ExitCode

HELP = """Validate configuration files offline: YAML, JSON schemas and tctl's own rules.

Every problem of every file is printed as FILE:LINE:COLUMN: KIND NAME: PATH: message. Exit codes: 0 all valid, 3 problems found, 2 usage error.

Namespace selectors (Workspace spec.namespaceSelector.names) are <cluster>/<namespace>: the cluster is "*" or a name, the namespace "*", a name, or a prefix "ns*".
"""


FORMATS = ("text", "json", "junit", "github")


def command(
    filenames: list[str] = Filenames,
    recursive: bool = Recursive,
    output: str = typer.Option("text", "-o", "--output", metavar="|".join(FORMATS), help="Report format."),
) -> None:
    from tctl_py.output import problems as report
    from tctl_py.output.formats import parse_output

    fmt = parse_output(output, choices=FORMATS).name
    loaded, problems = read_inputs(filenames, recursive)
    documents, files = len(loaded.documents), len(loaded.files)
    if fmt == "text":
        err(report.as_text(problems))
        err(report.summary(problems, documents, files) + "\n")
    elif fmt == "json":
        out(report.as_json(problems, documents, files))
    elif fmt == "junit":
        out(report.as_junit(problems, loaded.files))
    else:
        out(report.as_github(problems))
        err(report.summary(problems, documents, files) + "\n")
    if problems:
        raise typer.Exit(int(ExitCode.INVALID))

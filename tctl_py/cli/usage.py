"""How tctl's help and usage errors read: like kubectl's, plain text, no Rich boxes.

Typer writes `{kind}` in usage lines, `<str>` and `<bool>` after options and boxes around errors;
`Command` gives every argument and option a metavar a person reads (`KIND`, `--cluster CLUSTER`),
and `usage_error` prints click's errors as `error: ...` plus where to find help.
"""

from __future__ import annotations

import difflib
import re
import sys

# typer's own copy of click: its commands, parameters and errors are these classes
from typer._click.core import Context, Parameter
from typer._click.exceptions import ClickException, NoArgsIsHelpError, NoSuchOption, UsageError
from typer._click.formatting import HelpFormatter
from typer.core import TyperCommand


class Command(TyperCommand):
    """A command whose help shows metavars as words: `KIND [NAME]`, `-n, --namespace NAMESPACE`,
    `--dry-run client|server`; flags take none."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if param.metavar is None and param.name and not getattr(param, "is_flag", False):
                param.metavar = _metavar(param)

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                name = str(param.metavar)
                pieces.append(name if param.required else f"[{name}]")
        return pieces

    def format_options(self, ctx: Context, formatter: HelpFormatter) -> None:
        arguments, options = [], []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                arguments.append((str(param.metavar), param.help or ""))  # type: ignore[attr-defined]
            elif (record := param.get_help_record(ctx)) is not None:
                options.append(record)
        for title, records in (("Arguments", arguments), ("Options", options)):
            if records:
                with formatter.section(title):
                    formatter.write_dl(records)


def _metavar(param: Parameter) -> str:
    """The choices of an enum (`text|json`), else the parameter's name (`NAMESPACE`)."""
    choices = getattr(getattr(param, "type_descriptor", None), "choices", None)
    if choices:
        return "|".join(str(getattr(choice, "value", choice)) for choice in choices)
    return str(param.name).upper()


def usage_error(error: ClickException) -> int:
    """Print click's error as kubectl does (`error: ...`, then where the help is); its exit code."""
    if isinstance(error, NoArgsIsHelpError):  # `tctl` alone: the help is the message
        error.show()
        return error.exit_code
    if isinstance(error, NoSuchOption):  # kubectl's words; click's guesses only when close
        close = difflib.get_close_matches(error.option_name, error.possibilities or (), n=2, cutoff=0.8)
        message = f"unknown flag: {error.option_name}" + (
            f" (did you mean {' or '.join(close)}?)" if close else ""
        )
    else:
        message = error.format_message().replace("Value error, ", "").rstrip(".")
    if re.match(r"[A-Z][a-z]", message):
        message = message[0].lower() + message[1:]
    sys.stderr.write(f"error: {message}\n")
    context = getattr(error, "ctx", None)
    if isinstance(error, UsageError) and context is not None:
        sys.stderr.write(f"See '{context.command_path} --help' for usage.\n")
    return error.exit_code

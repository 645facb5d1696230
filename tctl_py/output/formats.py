"""What `-o/--output` may say, read once: a format name, or a template after `=`."""

from __future__ import annotations

from dataclasses import dataclass, field

from tctl_py.errors import UsageError

ALIASES = {"yml": "yaml"}
CHOICES = ("table", "wide", "yaml", "json", "name", "jsonpath=TEMPLATE", "custom-columns=SPEC")


@dataclass(frozen=True)
class OutputFormat:
    name: str  # table, wide, yaml, json, name, jsonpath or custom-columns
    template: tuple = ()  # jsonpath: the compiled template
    columns: tuple = field(default=())  # custom-columns: (header, path) pairs


def parse_output(text: str, choices: tuple[str, ...] = CHOICES) -> OutputFormat:
    """The format `-o text` names, among `choices` (how they are listed in errors); a usage error
    for anything else, or for a template that cannot be read."""
    from tctl_py.output import jsonpath

    name, equals, argument = text.partition("=")
    name = ALIASES.get(name, name)
    templated = {c.partition("=")[0]: c for c in choices if "=" in c}
    if name in templated and not equals:
        raise UsageError(f"-o {name} needs a template: -o {templated[name]}")
    if name not in {c.partition("=")[0] for c in choices} or (equals and name not in templated):
        raise UsageError(f'unknown output format "{text}"; choose one of: {", ".join(choices)}')
    try:
        if name == "jsonpath":
            return OutputFormat(name, template=jsonpath.compile_template(argument))
        if name == "custom-columns":
            return OutputFormat(name, columns=tuple(jsonpath.compile_columns(argument)))
    except jsonpath.TemplateError as error:
        raise UsageError(f"bad {name} template: {error}") from None
    return OutputFormat(name)

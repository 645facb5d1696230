"""Problem reports in the formats pipelines read: text, json, junit, github annotations."""

from __future__ import annotations

import json
from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

from tctl_py.errors import Problem, Severity

FORMATS = ("text", "json", "junit", "github")


def summary(problems: Sequence[Problem], documents: int, files: int) -> str:
    errors = sum(1 for p in problems if p.severity is Severity.ERROR)
    scope = f"{documents} document{'s' if documents != 1 else ''} in {files} file{'s' if files != 1 else ''}"
    if errors:
        return f"{errors} problem{'s' if errors != 1 else ''} found in {scope}"
    return f"{scope} valid"


def as_text(problems: Sequence[Problem]) -> str:
    return "".join(f"{problem}\n" for problem in problems)


def as_json(problems: Sequence[Problem], documents: int, files: int) -> str:
    report = {
        "valid": not any(p.severity is Severity.ERROR for p in problems),
        "summary": {"files": files, "documents": documents, "problems": len(problems)},
        "problems": [
            {
                "file": p.position.file,
                "line": p.position.line,
                "column": p.position.column,
                "kind": p.kind,
                "name": p.name,
                "path": p.path,
                "message": p.message,
                "hint": p.hint,
                "severity": p.severity.value,
            }
            for p in problems
        ],
    }
    return json.dumps(report, indent=2) + "\n"


def as_junit(problems: Sequence[Problem], files: Sequence[str]) -> str:
    """One test case per input file; each problem of that file is a failure of its case."""
    by_file: dict[str, list[Problem]] = {name: [] for name in files}
    for problem in problems:
        by_file.setdefault(problem.position.file, []).append(problem)
    failed = sum(1 for found in by_file.values() if found)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites name="tctl validate" tests="{len(by_file)}" failures="{failed}">',
        f'  <testsuite name="tctl validate" tests="{len(by_file)}" failures="{failed}">',
    ]
    for name, found in by_file.items():
        if not found:
            lines.append(f"    <testcase classname={quoteattr(name)} name={quoteattr(name)}/>")
            continue
        lines.append(f"    <testcase classname={quoteattr(name)} name={quoteattr(name)}>")
        for problem in found:
            lines.append(
                f'      <failure message={quoteattr(problem.message)} type="{problem.severity.value}">'
                f"{escape(str(problem))}</failure>"
            )
        lines.append("    </testcase>")
    lines += ["  </testsuite>", "</testsuites>"]
    return "\n".join(lines) + "\n"


def as_github(problems: Sequence[Problem]) -> str:
    """GitHub Actions workflow commands: each problem becomes an annotation on its line."""
    out = []
    for p in problems:
        level = "error" if p.severity is Severity.ERROR else "warning"
        where = f"file={_prop(p.position.file)}"
        if p.position.line:
            where += f",line={p.position.line},col={p.position.column}"
        title = ": ".join(part for part in (p.subject, p.path) if part) or "tctl"
        message = p.message + (f" (hint: {p.hint})" if p.hint else "")
        out.append(f"::{level} {where},title={_prop(title)}::{_data(message)}\n")
    return "".join(out)


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")

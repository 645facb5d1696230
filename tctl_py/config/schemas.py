"""JSON-schema validation of documents, each schema compiled once, errors mapped to positions."""

from __future__ import annotations

import difflib
import json
import re
from functools import cache
from importlib import resources
from pathlib import Path

from tctl_py.config.documents import Document
from tctl_py.config.kinds import Kind
from tctl_py.errors import Problem, shorten


def schema_dir() -> Path:
    """Schemas ship inside the wheel as tctl_py/schemas; a source checkout keeps them at the top."""
    packaged = Path(str(resources.files("tctl_py"))) / "schemas"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "schemas"


@cache
def load_schema(file_name: str) -> dict:
    with open(schema_dir() / file_name, encoding="utf-8") as handle:
        return json.load(handle)


@cache
def _fast_validator(file_name: str):
    """jsonschema-rs answers "is it valid?" in about a microsecond a document."""
    import jsonschema_rs

    return jsonschema_rs.validator_for(load_schema(file_name))


@cache
def _validator(file_name: str):
    """The reference implementation, for the few invalid documents: its errors carry the
    schema and instance paths and rank anyOf/oneOf alternatives (best_match)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema(file_name))


def check(document: Document, kind: Kind) -> list[Problem]:
    """Every schema violation of one document, positioned on the offending value or key."""
    if _fast_validator(kind.schema).is_valid(document.body):
        return []
    problems: list[Problem] = []
    for error in _validator(kind.schema).iter_errors(document.body):
        problems += _to_problems(document, _most_specific(error))
    return problems


def _most_specific(error):
    """For anyOf/oneOf, the sub-error that best explains the failure (as jsonschema ranks them)."""
    if error.context:
        from jsonschema.exceptions import best_match

        return _most_specific(best_match(error.context))
    return error


def _to_problems(document: Document, error) -> list[Problem]:
    path = list(error.absolute_path)
    validator = error.validator
    if validator == "additionalProperties" and isinstance(error.instance, dict):
        return [_unknown_field(document, path, key, error.schema) for key in _extra_keys(error)]
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        return [_problem(document, path, f'missing required field "{missing}"', suffix=missing)]
    if validator == "enum":
        allowed = ", ".join(str(value) for value in error.validator_value)
        return [_problem(document, path, f"{_show(error.instance)} is not one of: {allowed}")]
    if validator == "const":
        return [
            _problem(document, path, f"must be {_show(error.validator_value)}, not {_show(error.instance)}")
        ]
    if validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        got = _type_name(error.instance)
        if not isinstance(error.instance, (dict, list)):
            got += f" {_show(error.instance)}"
        return [_problem(document, path, f"expected {expected}, got {got}")]
    if validator == "pattern":
        described = error.schema.get("description", "")
        hint = described.split(".")[0] if described else ""
        return [
            _problem(
                document,
                path,
                f"{_show(error.instance)} does not match the pattern {error.validator_value}",
                hint=hint,
            )
        ]
    if validator in ("maxLength", "minLength"):
        bound = "longer than" if validator == "maxLength" else "shorter than"
        return [
            _problem(document, path, f"{_show(error.instance)} is {bound} {error.validator_value} characters")
        ]
    return [_problem(document, path, shorten(error.message, 200))]


def _extra_keys(error) -> list[str]:
    allowed = set(error.schema.get("properties", {}))
    patterns = [re.compile(p) for p in error.schema.get("patternProperties", {})]
    return [key for key in error.instance if key not in allowed and not any(p.search(key) for p in patterns)]


def _unknown_field(document: Document, path: list, key: str, schema: dict) -> Problem:
    close = difflib.get_close_matches(key, list(schema.get("properties", {})), n=1)
    hint = f'did you mean "{close[0]}"?' if close else ""
    return Problem(
        document.position([*path, key], key=True),
        f'unknown field "{key}"',
        kind=document.kind,
        name=document.name,
        path=json_path([*path, key]),
        hint=hint,
    )


def _problem(document: Document, path: list, message: str, *, suffix: str = "", hint: str = "") -> Problem:
    shown = [*path, suffix] if suffix else path
    return Problem(
        document.position(path),
        message,
        kind=document.kind,
        name=document.name,
        path=json_path(shown),
        hint=hint,
    )


def json_path(path) -> str:
    """`$.spec.items[0].name`: the JSONPath-like notation check-jsonschema and kubectl use."""
    text = "$"
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else f".{step}"
    return text


def _type_name(value: object) -> str:
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "array",
        dict: "object",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _show(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(shorten(value))
    return shorten(json.dumps(value) if not isinstance(value, (dict, list)) else _type_name(value))

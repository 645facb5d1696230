"""The shape of the package (SPEC §2, issue 8 item 7): commands never import one another, and no
module imports itself back through others — at module level or inside functions alike."""

from __future__ import annotations

import ast
from pathlib import Path

from tctl_py.errors import ExitCode

PACKAGE = Path(__file__).resolve().parents[2] / "tctl_py"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports_of(name: str) -> set[str]:
    """The package's modules that `name` imports anywhere in its code."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parents = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parents, *([node.module] if node.module else [])])
            for alias in node.names:
                target = f"{base}.{alias.name}"
                found.add(target if target in MODULES else base)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {module for module in found if module in MODULES and module != name}


def commands() -> set[str]:
    """The command modules `tctl_py.cli.app` registers (`from tctl_py.cli import apply, ...`)."""
    tree = ast.parse(MODULES["tctl_py.cli.app"].read_text(encoding="utf-8"))
    return {
        f"tctl_py.cli.{alias.name}"
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module == "tctl_py.cli"
        for alias in node.names
    }


def test_commands_import_shared_helpers_never_one_another():
    found = commands()
    assert {"tctl_py.cli.apply", "tctl_py.cli.sync", "tctl_py.cli.get"} <= found
    for command in sorted(found):
        assert not imports_of(command) & found, f"{command} imports {sorted(imports_of(command) & found)}"


def test_no_import_cycle_anywhere():
    graph = {name: imports_of(name) for name in MODULES}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(name) :], name]))
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, [*path, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_the_worst_exit_code_wins():
    assert ExitCode.worst([]) == ExitCode.OK
    assert ExitCode.worst([0, 1]) == ExitCode.DIFFERENCES
    assert ExitCode.worst([1, 5, 0]) == ExitCode.CONFLICT
    assert ExitCode.worst([5, 4, 1]) == ExitCode.CLUSTER

"""`tctl version`: the client's version, and each live cluster's, as `kubectl version`."""

from __future__ import annotations

from typing import Optional

import typer

from tctl_py.cli.common import out

HELP = """Print the client version (tctl and Python) and the server version of each cluster of the fleet (its API server's /version).

--client prints the client's alone, without the fleet. A snapshot fleet has no servers. Exit 4 when a cluster could not be asked (after printing the others).
"""


def command(
    client: bool = typer.Option(False, "--client", help="Only the client version: no fleet needed."),
    output: Optional[str] = typer.Option(
        None, "-o", "--output", metavar="[json|yaml]", help="Output format."
    ),
) -> None:
    import platform

    from tctl_py import __version__
    from tctl_py.errors import ExitCode, UsageError

    if output not in (None, "json", "yaml"):
        raise UsageError(f'--output must be "json" or "yaml", not "{output}"')
    document: dict = {"clientVersion": {"tctl": __version__, "python": platform.python_version()}}
    failed: dict[str, str] = {}
    if not client:
        from tctl_py.cli import meshview
        from tctl_py.cli.common import open_store
        from tctl_py.fleet.loader import server_versions

        with open_store() as store:
            config = meshview.mesh_config(store)
        declared = [c["metadata"]["name"] for c in config.clusters]
        answers = server_versions(meshview.fleet_options(), meshview.cluster_choice() or declared)
        document["serverVersions"] = {name: a for name, a in answers.items() if isinstance(a, dict)}
        failed = {name: a for name, a in answers.items() if isinstance(a, str)}
    if output is None:
        lines = [f"Client Version: {__version__}", f"Python Version: {platform.python_version()}"]
        lines += [
            f"Server Version ({name}): {answer.get('gitVersion', '?')}"
            for name, answer in document.get("serverVersions", {}).items()
        ]
        out("".join(line + "\n" for line in lines))
    else:
        from tctl_py.output.render import to_json, to_yaml

        out(to_json(document) + "\n" if output == "json" else to_yaml(document))
    if failed:
        from tctl_py.cli.report import cluster_error

        for name, message in sorted(failed.items()):
            cluster_error(name, f"could not be read: {message}")
        raise typer.Exit(int(ExitCode.CLUSTER))

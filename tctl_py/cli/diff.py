"""`tctl diff`: what `apply` would change, live against desired-after-apply, like `kubectl diff`."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from tctl_py.cli.common import (
    OptionalFilenames,
    Recursive,
    Suppress,
    open_store,
    organizations_of,
    read_inputs,
    store_batch,
)

HELP = """Show, as unified diffs per object headed by cluster and object, how the live clusters differ from what tctl would make them: from the stored configuration, with the files given by -f applied on top.

Exit codes, as kubectl diff: 0 no differences, 1 differences, more than 1 an error (4 a cluster failed, 5 an object tctl does not own is in the way). Set TCTL_EXTERNAL_DIFF or KUBECTL_EXTERNAL_DIFF to use another diff program on two folders (LIVE and MERGED). The same input gives the same bytes.
"""


def command(
    filenames: Optional[list[str]] = OptionalFilenames,
    recursive: bool = Recursive,
    prune: bool = typer.Option(
        False,
        "--prune",
        help="As apply --prune: the input is the whole configuration of the organizations it names.",
    ),
    suppress: Optional[list[str]] = Suppress,
) -> None:
    from tctl_py.cli import meshview
    from tctl_py.cli.report import FINDINGS, reconcile_and_report, use_color
    from tctl_py.config import objects
    from tctl_py.errors import ExitCode, InvalidInput, UsageError
    from tctl_py.output.diff import show

    FINDINGS.start(suppress)
    if prune and not filenames:
        raise UsageError("--prune needs the input it prunes against: give -f PATH")
    meshview.require_fleet()  # no fleet is never "no differences"
    stored_changes = []
    organizations: list[str] = []
    with open_store() as store:
        baseline = config = meshview.mesh_config(store)
        if filenames:
            loaded, problems = read_inputs(filenames, recursive)
            if problems:
                raise InvalidInput(problems, "cannot diff: the input has problems")
            batch = objects.items(loaded.documents)
            organizations = organizations_of(batch) if prune else []
            _, config, changes = store_batch(store, batch, organizations, dry_run=True)
            stored_changes = [c for c in changes if c.action != "unchanged"]
        ownership = meshview.ownership(store, config, organizations)
    # One diff over the store's changes and the clusters' (one run of an external program)
    diffs = [(f"store/{c.fqn}", c.before, c.after) for c in stored_changes]
    clusters = meshview.cluster_choice() or None
    with meshview.load_fleet(config, reconciling=clusters or []) as fleet:
        code = reconcile_and_report(
            config,
            fleet,
            ownership,
            dry_run="client",
            force_conflicts=False,
            clusters=clusters,
            baseline=baseline,
            diffs=diffs,
        )
    show(diffs, sys.stdout, color=use_color())
    codes = [code, int(ExitCode.DIFFERENCES)] if stored_changes else [code]
    raise typer.Exit(ExitCode.worst(codes))

"""Running tctl from tests: in this process through `main()` (argv rewriting, error mapping and
exit codes included), or as a subprocess, and reading its per-object output lines."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml
from typer.testing import CliRunner

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "bookinfo"

# `cluster-2 workloadentry.networking.istio.io/k-details-... created`, one line per object.
STEP = re.compile(
    r"^(?P<cluster>cluster-\d+) (?P<label>\S+) "
    r"(?P<outcome>created|configured|unchanged|pruned|deleted|conflict|kept|failed|not done)"
    r"(?P<suffix> \((?:dry run|server dry run|snapshot fleet: not written)\))?(?:: .+)?$"
)
# `cluster-2: 3 created, 1 configured, 40 unchanged`, one per cluster after its objects' lines.
SUMMARY = re.compile(
    r"^(?P<cluster>cluster-\d+): (?P<counts>\d+ [a-z ]+(?:, \d+ [a-z ]+)*)(?P<suffix> \(.+\))?$"
)


@dataclass
class Ran:
    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None = None

    def steps(self) -> dict[tuple[str, str], str]:
        """(cluster, object label) -> outcome, from the per-object lines of stdout."""
        return {
            (m["cluster"], m["label"]): m["outcome"] for m in map(STEP.match, self.stdout.splitlines()) if m
        }

    def summaries(self) -> dict[str, dict[str, int]]:
        """cluster -> outcome -> count, from the summary lines of stdout."""
        found = {}
        for match in map(SUMMARY.match, self.stdout.splitlines()):
            if match:
                pairs = (count.split(" ", 1) for count in match["counts"].split(", "))
                found[match["cluster"]] = {outcome: int(number) for number, outcome in pairs}
        return found

    def step_lines(self) -> list[str]:
        """The per-object lines (not the per-cluster summaries)."""
        return [line for line in self.stdout.splitlines() if STEP.match(line)]


def run_main(argv: list[str], input: str | None = None) -> Ran:
    """tctl's `main(argv)` in this process, stdin/stdout/stderr captured."""
    from tctl_py.cli.app import main

    with CliRunner().isolation(input=input) as streams:
        try:
            main(argv)
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        sys.stdout.flush()
        sys.stderr.flush()
        out, err = streams[0].getvalue(), streams[1].getvalue()
    return Ran(code, out.decode(), err.decode())


def run_process(args: list[str], env: dict | None = None, input: str | None = None) -> Ran:
    """`python -m tctl_py ARGS` with this environment plus `env`."""
    done = subprocess.run(
        [sys.executable, "-m", "tctl_py", *args],
        input=input,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        timeout=60,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


def example_objects(cluster: str) -> list[dict]:
    """The Namespaces, then the Services, of one cluster of the example's snapshot fleet."""
    objects: list[dict] = []
    for file_name in ("namespaces.yaml", "services.yaml"):
        objects += yaml.safe_load((EXAMPLE / "fleet" / cluster / file_name).read_text())["items"]
    return objects

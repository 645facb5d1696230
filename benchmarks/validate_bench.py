"""Validate 2,000 WorkspaceSetting files with tctl and with check-jsonschema, side by side.

Both tools get the same files and the same schema (schemas/workspacesetting.schema.json), run as
whole processes, best of N runs each, interleaved so machine noise hits both alike. The numbers
are written to docs/performance.md between the `validate-bench` markers.

    .venv/bin/python benchmarks/validate_bench.py [--files 2000] [--runs 5]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / ".work" / "validate"
SCHEMA = ROOT / "schemas" / "workspacesetting.schema.json"
BIN = Path(sys.executable).parent

SETTING = """\
apiVersion: api.tsb.tetrate.io/v2
kind: WorkspaceSetting
metadata:
  name: settings-{i}
  workspace: ws-{i}
  tenant: tenant-{t}
  organization: tse
  labels:
    team: team-{t}
spec:
  displayName: Settings of workspace {i}
  defaultSecuritySetting:
    authenticationSettings:
      trafficMode: REQUIRED
    authorization:
      mode: WORKSPACE
  defaultTrafficSetting:
    reachability:
      mode: WORKSPACE
  defaultEastWestGatewaySettings:
    - workloadSelector:
        namespace: ns-{i}
        labels:
          app: eastwest-gateway
      exposedServices:
        - serviceLabels:
            app: details
        - serviceLabels:
            app: reviews
            tier: gold
"""


def make_files(count: int) -> list[Path]:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    files = []
    for i in range(count):
        path = WORK / f"setting-{i:05d}.yaml"
        path.write_text(SETTING.format(i=i, t=i % 20))
        files.append(path)
    return files


def timed(command: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    return elapsed, result.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs alone")
    args = parser.parse_args()

    files = make_files(args.files)
    commands = {
        "tctl validate -f DIR": [str(BIN / "tctl"), "validate", "-f", str(WORK)],
        "check-jsonschema --schemafile": [
            str(BIN / "check-jsonschema"),
            "--schemafile",
            str(SCHEMA),
            *map(str, files),
        ],
    }
    best = {name: float("inf") for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            elapsed, code = timed(command)
            if code != 0:
                sys.exit(f"{name} failed with exit code {code}: the files should all be valid")
            best[name] = min(best[name], elapsed)

    tctl, other = best["tctl validate -f DIR"], best["check-jsonschema --schemafile"]
    version = subprocess.run(
        [str(BIN / "check-jsonschema"), "--version"], capture_output=True, text=True
    ).stdout.strip()
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {_cpus()} CPUs, "
        f"Python {platform.python_version()}, {version}; {args.files} WorkspaceSetting files, "
        f"best of {args.runs} runs, whole processes.",
        "",
        "| command | wall time | per file |",
        "|---|---|---|",
        *(
            f"| `{name}` | {seconds:.2f} s | {seconds / args.files * 1000:.2f} ms |"
            for name, seconds in best.items()
        ),
        "",
        f"tctl is **{other / tctl:.1f}x** faster, and gives line and column for every problem.",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section(ROOT / "docs" / "performance.md", "validate-bench", text)


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def write_section(doc: Path, marker: str, text: str) -> None:
    """Replace the text between `<!-- marker:start -->` and `<!-- marker:end -->` in doc."""
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    content = doc.read_text()
    head, _, rest = content.partition(start)
    _, _, tail = rest.partition(end)
    doc.write_text(f"{head}{start}\n{text}\n{end}{tail}")


if __name__ == "__main__":
    main()

"""The benchmarks of docs/performance.md run: each in its quick mode, printing its table and
writing nothing. A change to tctl that breaks one (as requiring a fleet for `apply` once broke
fleet_bench's set-up, which stored its configuration without `--no-sync`) fails here, not in
`make bench`. apply_bench and watch_bench, on emulated clusters and with kubectl, take longer:
their paths are the integration tests'."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize(
    "script, args, prints",
    [
        ("fleet_bench.py", ["--quick"], "| clusters x services | ServiceEntries |"),
        ("fleet_bench.py", ["--replicated", "--quick"], "| `get we -A -o yaml` |"),
        ("validate_bench.py", ["--files", "20", "--runs", "1", "--no-write"], "| `tctl validate -f DIR` |"),
    ],
)
def test_a_benchmark_runs_and_prints_its_table(script, args, prints):
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert prints in done.stdout, done.stdout[-3000:]

"""Progress of work on several clusters: a live Rich display on a terminal, plain lines otherwise."""

from __future__ import annotations

import threading
from typing import Any, TextIO


class ClusterProgress:
    """Call with (cluster, status); use as a context manager around the work. `live`: whether
    the display may redraw itself (escape codes); by default, when `stream` is a terminal."""

    def __init__(self, stream: TextIO, clusters: list[str], *, live: bool | None = None) -> None:
        self.stream = stream
        self.clusters = clusters
        self.terminal = (stream.isatty() if live is None else live) and len(clusters) > 0
        self._lock = threading.Lock()
        self._live: Any = None  # rich.live.Live while shown on a terminal
        self._status: dict[str, str] = {name: "waiting" for name in clusters}

    def __enter__(self) -> ClusterProgress:
        if self.terminal:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(
                self._render(), console=Console(file=self.stream), transient=True, refresh_per_second=8
            )
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)

    def __call__(self, cluster: str, status: str) -> None:
        with self._lock:
            self._status[cluster] = status
            if self._live is not None:
                self._live.update(self._render())
            elif status in ("done", "failed"):
                self.stream.write(f"{cluster}: {status}\n")

    def _render(self):
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        marks = {"done": "[green]✓[/]", "failed": "[red]✗[/]"}
        for name in self.clusters:
            status = self._status.get(name, "waiting")
            table.add_row(marks.get(status, "[cyan]…[/]"), name, status)
        return table

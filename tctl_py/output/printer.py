"""Objects printed as they come, in the format `get -o` names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from tctl_py.config import objects
from tctl_py.config.kinds import Kind
from tctl_py.output import tables
from tctl_py.output.render import FORMATS, ListPrinter


class ObjectPrinter:
    """`add` objects one at a time, then `close`. yaml, json and name are written as they come,
    the same bytes as printing all of them at once; a table waits for its last row (a column is
    as wide as its widest cell) but holds only the cells.

    `single` prints one object alone
    rather than as a List (`get KIND NAME`); `prefix` and `suffix` are the headers of the extra
    table columns whose values each `add` gives.
    """

    def __init__(
        self,
        output: str,
        kind: Kind,
        stream: TextIO,
        *,
        single: bool = False,
        prefix: Sequence[str] = (),
        suffix: Sequence[str] = (),
    ) -> None:
        self._stream = stream
        self._kind = kind
        self._list = ListPrinter(FORMATS[output], stream.write, single=single) if output in FORMATS else None
        self._table = (
            tables.Rows(kind.kind, wide=output == "wide", prefix=prefix, suffix=suffix)
            if output in ("table", "wide")
            else None
        )

    def add(
        self, body: dict, *, prefix: Sequence[str] = (), suffix: Sequence[str] = (), lead: str = ""
    ) -> None:
        """`prefix` and `suffix`: this object's extra table cells; `lead`: what goes before its
        `-o name` line (its cluster, when several are shown)."""
        if self._list:
            self._list.add(body)
        elif self._table:
            self._table.add(body, prefix, suffix)
        else:
            self._stream.write(f"{lead}{objects.label(self._kind, body['metadata']['name'])}\n")

    def close(self) -> None:
        if self._list:
            self._list.close()
        elif self._table:
            tables.render(self._table.headers, self._table.cells, self._stream)

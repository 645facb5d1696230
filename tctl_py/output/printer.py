"""Objects printed as they come, in the format `get -o` names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from tctl_py.config import kinds, objects
from tctl_py.output import tables
from tctl_py.output.formats import OutputFormat
from tctl_py.output.render import FORMATS, ListPrinter, as_list


class ObjectPrinter:
    """`add` objects one at a time, then `close`. yaml, json and name are written as they come,
    the same bytes as printing all of them at once; a table waits for its last row (a column is
    as wide as its widest cell) but holds only the cells: one table per kind, in the order the
    kinds came. A jsonpath template needs every object, so it holds them.

    `single` prints one object alone rather than as a List (`get KIND NAME`); `kinds` orders
    the tables (`get se,we`: ServiceEntries first); `prefix` and
    `suffix` are the headers of the extra table columns whose values each `add` gives.
    """

    def __init__(
        self,
        output: OutputFormat,
        stream: TextIO,
        *,
        single: bool = False,
        kinds: Sequence[str] = (),
        prefix: Sequence[str] = (),
        suffix: Sequence[str] = (),
    ) -> None:
        self._stream = stream
        self._output = output
        self._single = single
        self._prefix, self._suffix = prefix, suffix
        self._list = (
            ListPrinter(FORMATS[output.name], stream.write, single=single) if output.name in FORMATS else None
        )
        self._tables: dict[str, tables.Rows] = {}
        for kind in kinds if output.name in ("table", "wide") else ():  # tables in this order
            self._table(kind)
        self._held: list[dict] = []  # jsonpath
        self._cells: list[list[str]] = []  # custom-columns

    def add(
        self, body: dict, *, prefix: Sequence[str] = (), suffix: Sequence[str] = (), lead: str = ""
    ) -> None:
        """`prefix` and `suffix`: this object's extra table cells; `lead`: what goes before its
        `-o name` line (its cluster, when several are shown)."""
        from tctl_py.output import jsonpath

        name = self._output.name
        if self._list:
            self._list.add(body)
        elif name in ("table", "wide"):
            kind = body["kind"]
            if kind not in self._tables:
                self._tables[kind] = tables.Rows(
                    kind, wide=name == "wide", prefix=self._prefix, suffix=self._suffix
                )
            self._tables[kind].add(body, prefix, suffix)
        elif name == "custom-columns":
            self._cells.append(jsonpath.column_cells(self._output.columns, body))
        elif name == "jsonpath":
            self._held.append(body)
        else:
            kind = kinds.by_kind(body["kind"])
            assert kind is not None, "tctl prints only objects of its kinds"
            self._stream.write(f"{lead}{objects.label(kind, body['metadata']['name'])}\n")

    def _table(self, kind: str) -> tables.Rows:
        if kind not in self._tables:
            wide = self._output.name == "wide"
            self._tables[kind] = tables.Rows(kind, wide=wide, prefix=self._prefix, suffix=self._suffix)
        return self._tables[kind]

    def close(self) -> None:
        from tctl_py.output import jsonpath

        if self._list:
            self._list.close()
        elif self._tables:
            self._stream.write(
                "\n".join(
                    "".join(tables.plain_lines(t.headers, t.cells)) for t in self._tables.values() if t.cells
                )
            )
        elif self._output.name == "custom-columns":
            tables.render([header for header, _ in self._output.columns], self._cells, self._stream)
        elif self._output.name == "jsonpath":
            data = self._held[0] if self._single and len(self._held) == 1 else as_list(self._held)
            self._stream.write(jsonpath.render_template(self._output.template, data))

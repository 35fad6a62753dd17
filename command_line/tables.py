"""Tables that never cut a number, at any terminal width and when piped.

Text columns fold (long names wrap onto more lines, nothing is replaced by an ellipsis);
numeric columns never wrap. When even that does not fit — a narrow terminal, many columns —
the rows are printed stacked, one ``header: value`` line per cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text


@dataclass(frozen=True)
class Column:
    header: str
    numeric: bool = False
    """Numbers (and other values that must be read whole) never wrap or shrink."""


def _table(title: str | None, columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    for index, column in enumerate(columns):
        if column.numeric:
            widest = max((len(Text.from_markup(row[index]).plain) for row in rows), default=0)
            table.add_column(
                column.header,
                justify="right",
                no_wrap=True,
                min_width=max(widest, 1),
                overflow="ignore",
            )
        else:
            table.add_column(column.header, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


READABLE_TEXT_WIDTH = 12
"""A text column narrower than this (or than its longest cell) reads badly: go stacked."""


def _wanted_width(columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> int:
    total = 0
    for index, column in enumerate(columns):
        widest = max((len(Text.from_markup(row[index]).plain) for row in rows), default=0)
        total += widest if column.numeric else min(widest, READABLE_TEXT_WIDTH)
    return total + 3 * len(columns)


def _fits(
    console: Console, table: Table, columns: Sequence[Column], rows: Sequence[Sequence[str]]
) -> bool:
    if _wanted_width(columns, rows) > console.width:
        return False
    with console.capture() as capture:
        console.print(table)
    rendered = capture.get()
    lines = rendered.splitlines()
    if any(len(line.rstrip()) > console.width for line in lines):
        return False
    numbers = [
        Text.from_markup(row[i]).plain
        for row in rows
        for i, column in enumerate(columns)
        if column.numeric
    ]
    return all(any(number in line for line in lines) for number in numbers if number)


def render_stacked(
    title: str | None, columns: Sequence[Column], rows: Sequence[Sequence[str]]
) -> str:
    """Every row as a block of ``header  value`` lines (markup kept), blocks separated by a
    blank line."""
    width = max((len(column.header) for column in columns), default=0)
    blocks = [
        "\n".join(
            f"{column.header:<{width}}  {value}" for column, value in zip(columns, row, strict=True)
        )
        for row in rows
    ]
    text = "\n\n".join(blocks)
    return f"{title}\n\n{text}" if title else text


def print_table(
    console: Console,
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    *,
    title: str | None = None,
) -> None:
    """``rows`` (already formatted cells) as a table when every number fits whole at the
    console's width, else stacked."""
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"row has {len(row)} cells for {len(columns)} columns")
    table = _table(title, columns, rows)
    if _fits(console, table, columns, rows):
        console.print(table)
    else:
        console.print(render_stacked(title, columns, rows), highlight=False)

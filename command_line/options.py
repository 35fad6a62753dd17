"""Options shared by every command, and how list values are read.

Grammar (docs/cli.md): a config that is read is always ``-c/--config``; positional arguments
only name the thing acted on (a video, a source, a CSV file); a list is given by repeating its
option (``--store a --store b``), and an option whose values are identifiers also takes them
comma-separated (``--store a,b``); ``--json`` prints machine output with stable keys.
"""

from __future__ import annotations

from collections.abc import Iterable

import typer

from command_line.logs import LogFormat, LogLevel

JSON_OPTION = typer.Option(
    False, "--json", help="Print machine-readable JSON (stable keys) instead of tables"
)


LOG_LEVEL_OPTION = typer.Option(
    LogLevel.INFO,
    "--log-level",
    case_sensitive=False,
    help="debug shows libraries' chatter too; warning shows problems only",
)
LOG_FORMAT_OPTION = typer.Option(
    LogFormat.TEXT, "--log-format", case_sensitive=False, help="json: one object per line"
)
QUIET_OPTION = typer.Option(False, "--quiet", "-q", help="Log warnings and errors only")


def identifiers(values: Iterable[str] | None) -> list[str]:
    """Repeated and comma-separated values as one list, in order, without blanks or repeats:
    ``["a,b", "c"]`` → ``["a", "b", "c"]``."""
    found: list[str] = []
    for value in values or []:
        for part in value.split(","):
            item = part.strip()
            if item and item not in found:
                found.append(item)
    return found

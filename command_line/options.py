"""Options shared by every command, and how list values are read.

Grammar (docs/cli.md): a config that is read is always ``-c/--config``; positional arguments
only name the thing acted on (a video, a source, a CSV file); a list is given by repeating its
option (``--store a --store b``), and an option whose values are identifiers also takes them
comma-separated (``--store a,b``); ``--json`` prints machine output with stable keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import typer

CONFIG_HELP = "YAML config file"


def config_option(help_text: str = CONFIG_HELP, *, required: bool = False) -> Path | None:
    """``-c/--config``: the declaration every command uses (typer reads it as a default)."""
    default = ... if required else None
    return typer.Option(default, "--config", "-c", help=help_text)  # type: ignore[no-any-return]


def json_option() -> bool:
    return typer.Option(  # type: ignore[no-any-return]
        False, "--json", help="Print machine-readable JSON (stable keys) instead of tables"
    )


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

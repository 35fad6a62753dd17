"""Exit codes of every ``footfall`` command (docs/cli.md)."""

from __future__ import annotations

import sys
from enum import IntEnum

import typer


class ExitCode(IntEnum):
    OK = 0
    """Did what was asked."""
    PROBLEM = 1
    """Ran, but something is wrong: undelivered intervals, a failed check, counts that differ."""
    BAD_INPUT = 2
    """Refused before doing anything: a bad option, config file or input file."""


def fail(message: str, code: ExitCode = ExitCode.BAD_INPUT) -> typer.Exit:
    """Print ``error: message`` on standard error and return the ``typer.Exit`` to raise."""
    print(f"error: {message}", file=sys.stderr)
    return typer.Exit(int(code))

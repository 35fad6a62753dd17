"""The progress bar of commands that count a recording: frames done of total, frames per
second and the time left; gone when finished (``transient``)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn


def frame_progress(console: Console) -> Progress:
    """Add a task with an ``fps`` field: ``progress.add_task(name, total=..., fps="-")``."""
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        "[cyan]{task.fields[fps]} fps",
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )

"""``footfall edge ...`` commands. Heavy imports (models, OpenCV) stay inside commands."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from edge.config import ConfigError, load_config

app = typer.Typer(no_args_is_help=True)
console = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code=2)


@app.command("check-config")
def check_config(config: Path = typer.Argument(..., help="Edge YAML config")) -> None:
    """Validate a config without starting anything; exits non-zero when it is invalid."""
    try:
        loaded = load_config(config)
    except ConfigError as error:
        raise fail(str(error)) from None
    cameras = ", ".join(
        f"{camera.id} ({len(camera.lines)} lines, {len(camera.zones)} zones)"
        for camera in loaded.cameras
    )
    console.print(f"[green]ok[/] {config}: store {loaded.store_id}; cameras {cameras}")
    console.print(f"config fingerprint {loaded.fingerprint()}")

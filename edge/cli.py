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


@app.command("export")
def export_command(
    *,
    model: Path | None = typer.Option(
        None, "--model", help="ultralytics weights (.pt); default: the bundled yolo11n-pose"
    ),
    imgsz: int = typer.Option(1280, "--imgsz", min=32, help="Longest input side, input pixels"),
    export_format: str = typer.Option("onnx", "--format", help="onnx or openvino"),
    output: Path | None = typer.Option(
        None,
        "--output",
        help="Models directory; default $FOOTFALL_MODELS_DIR or ~/.cache/footfall/models",
    ),
    fixed: bool = typer.Option(
        False, "--fixed", help="Fixed input shape instead of dynamic batch/height/width"
    ),
    frame_size: str | None = typer.Option(
        None, "--frame-size", help="WIDTHxHEIGHT of the camera: a fixed export's rectangle"
    ),
    if_missing: bool = typer.Option(
        False, "--if-missing", help="Do nothing when an equivalent export already exists"
    ),
) -> None:
    """Convert an ultralytics model (needs torch) into a torch-free runtime model + metadata."""
    from edge.export import ExportRequest, export_model
    from edge.offline import ModelNotFoundError
    from edge.runtime.metadata import ExportFormat

    try:
        size = None
        if frame_size is not None:
            width, _, height = frame_size.lower().partition("x")
            size = (int(width), int(height))
        request = ExportRequest(
            model=model,
            imgsz=imgsz,
            format=ExportFormat(export_format),
            output_dir=output,
            dynamic=not fixed,
            frame_size=size,
        )
        result = export_model(request, if_missing=if_missing)
    except (ValueError, ModelNotFoundError) as error:
        raise fail(f"cannot export: {error}") from None
    metadata = result.exported.metadata
    state = "exported" if result.created else "already exported"
    console.print(
        f"[green]{state}[/] {result.exported.model_file} ({metadata.format}, "
        f"input {metadata.shape_label()}, imgsz {metadata.imgsz}, task {metadata.task})"
    )

"""``footfall edge ...`` commands. Heavy imports (models, OpenCV) stay inside commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from command_line.exit_codes import ExitCode, fail
from command_line.logs import LogFormat, LogLevel, configure_logging
from command_line.options import LOG_FORMAT_OPTION, LOG_LEVEL_OPTION, QUIET_OPTION
from edge.calibrate_cli import calibrate_command
from edge.config import EdgeConfig, load_config
from edge.label_cli import label_command
from edge.offline import ModelNotFoundError
from edge.quantize_cli import quantize_command
from edge.recording_cli import audit_command, preview_command, replay_command
from edge.vision.sources import SourceError
from protocol.settings import ConfigError

if TYPE_CHECKING:
    from edge.worker import EdgeWorker

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)
console = Console(stderr=True, soft_wrap=True)


@app.command("check-config")
def check_config(
    config: Path = typer.Option(..., "--config", "-c", help="Edge YAML config"),
    connect: bool = typer.Option(
        False, "--connect", help="Also log in at the broker and reach every stream's host"
    ),
) -> None:
    """Validate a config and what it names (video files, MQTT password and TLS files, the
    outbox directory) without starting anything; with --connect also the broker login and
    the streams' hosts. Exits non-zero naming every problem."""
    from edge.preflight import edge_problems

    try:
        loaded = load_config(config)
    except ConfigError as error:
        raise fail(str(error)) from None
    problems = edge_problems(loaded, connect=connect)
    for problem in problems[:-1]:
        console.print(f"[bold red]error:[/] {problem}", highlight=False)
    if problems:
        raise fail(problems[-1])
    cameras = ", ".join(
        f"{camera.id} ({len(camera.lines)} lines, {len(camera.zones)} zones)"
        for camera in loaded.cameras
    )
    console.print(f"[green]ok[/] {config}: store {loaded.store_id}; cameras {cameras}")
    console.print(f"config fingerprint {loaded.fingerprint()}")


app.command("replay")(replay_command)
app.command("audit")(audit_command)
app.command("calibrate")(calibrate_command)
app.command("label")(label_command)
app.command("quantize")(quantize_command)
app.command("preview")(preview_command)


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
    from edge.offline import ModelNotFoundError
    from edge.vision.export import ExportRequest, export_model
    from edge.vision.runtime.metadata import ExportFormat

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


@app.command("run")
def run_command(
    config: Path = typer.Option(..., "--config", "-c", help="Edge YAML config"),
    stop_timeout: float = typer.Option(
        30.0, "--stop-timeout", help="Seconds to wait at shutdown for the broker to take the rest"
    ),
    status_seconds: float = typer.Option(
        30.0, "--status-seconds", min=1.0, help="Log a status line per camera this often"
    ),
    log_level: LogLevel = LOG_LEVEL_OPTION,
    log_format: LogFormat = LOG_FORMAT_OPTION,
    quiet: bool = QUIET_OPTION,
) -> None:
    """The long-running worker: counts every configured camera and publishes intervals (MQTT
    when configured, else JSON lines to output_path). Stops on SIGTERM/SIGINT after closing
    the open intervals; recorded sources stop at their end. Exits 1 when intervals are left
    undelivered in the outbox."""
    import signal

    from edge.status import StatusReporter
    from edge.transport.outbox import OutboxError
    from edge.transport.sinks import open_sink
    from edge.worker import EdgeWorker
    from protocol.version import SOFTWARE_VERSION

    configure_logging(LogLevel.WARNING if quiet else log_level, log_format)
    status = StatusReporter(status_seconds)
    try:
        edge_config = load_config(config)
        sink = open_sink(edge_config, SOFTWARE_VERSION)
    except (ConfigError, OutboxError) as error:
        raise fail(str(error)) from None
    try:
        worker = EdgeWorker(edge_config, sink, on_frame=status.on_frame)
    except (ConfigError, SourceError, ModelNotFoundError, ValueError) as error:
        sink.stop(1.0)
        raise fail(str(error)) from None
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: worker.stop())
    sink.start()
    console.print(
        f"[green]running[/] store {edge_config.store_id}: "
        + ", ".join(
            f"{runtime.config.id} <- {runtime.config.source.uri}" for runtime in worker.cameras
        )
    )
    status.start(worker)
    try:
        worker.run()
    except (SourceError, OutboxError) as error:
        sink.stop(stop_timeout)
        raise fail(str(error)) from None
    finally:
        status.stop()
    delivered = sink.stop(stop_timeout)
    _print_stopped(worker, delivered, edge_config)
    if not delivered:
        raise typer.Exit(int(ExitCode.PROBLEM))


def _print_stopped(worker: EdgeWorker, delivered: bool, edge_config: EdgeConfig) -> None:
    totals = {
        runtime.config.id: {line: vars(counts) for line, counts in runtime.counter.totals.items()}
        for runtime in worker.cameras
    }
    console.print(f"stopped; totals {json.dumps(totals)}; all delivered: {delivered}")
    if not delivered:
        console.print(f"undelivered intervals stay in the outbox {edge_config.outbox.path}")

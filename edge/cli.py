"""``footfall edge ...`` commands. Heavy imports (models, OpenCV) stay inside commands."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from edge.config import EdgeConfig, load_config
from edge.offline import ModelNotFoundError
from edge.vision.sources import SourceError
from protocol.settings import ConfigError

if TYPE_CHECKING:
    from edge.audit import AuditResult
    from edge.replay import ReplayReport
    from edge.worker import EdgeWorker

app = typer.Typer(no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)


def fail(message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
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


def _progress_replay(config: EdgeConfig, camera_id: str) -> ReplayReport:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from edge.replay import replay

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        "[cyan]{task.fields[fps]} fps",
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("counting", total=None, fps="-")
        started = time.perf_counter()

        def on_frame(done: int, total: int) -> None:
            rate = done / max(time.perf_counter() - started, 1e-9)
            progress.update(task, completed=done, total=total or None, fps=f"{rate:.1f}")

        return replay(config, camera_id, on_frame=on_frame)


def _write_per_frame(report: ReplayReport, path: Path) -> None:
    zone_ids = sorted({zone for record in report.per_frame for zone in record.zones})
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["frame", "people", "tracked", *zone_ids])
        for record in report.per_frame:
            writer.writerow(
                [
                    record.frame,
                    record.detected,
                    record.tracked,
                    *(record.zones[z] for z in zone_ids),
                ]
            )


LINE_HELP = "Add a line NAME=x1,y1,x2,y2@ix,iy (inside point after @); repeatable."


@app.command("replay")
def replay_command(
    video: str = typer.Argument(..., help="Video file or folder of images"),
    config: Path | None = typer.Option(None, "--config", "-c", help="Edge YAML config"),
    report: Path | None = typer.Option(None, "--report", help="Write the JSON report here"),
    per_frame: Path | None = typer.Option(None, "--per-frame", help="Write per-frame CSV here"),
    line: list[str] = typer.Option([], "--line", help=LINE_HELP),
    camera: str | None = typer.Option(None, "--camera", help="Camera id in the config"),
    fps: float | None = typer.Option(None, "--fps", help="Override the source frame rate"),
) -> None:
    """Run the full pipeline on a recording as fast as it can; print and save the counts."""
    from edge.adhoc import build_config

    try:
        edge_config, camera_id = build_config(video, config, line, camera, fps)
        result = _progress_replay(edge_config, camera_id)
    except (ConfigError, SourceError, ModelNotFoundError) as error:
        raise fail(str(error)) from None
    summary = result.to_json()
    if report is not None:
        report.write_text(json.dumps(summary, indent=2) + "\n")
    if per_frame is not None:
        _write_per_frame(result, per_frame)
    table = Table(
        title=f"{video}: {result.frames} frames in {result.seconds:.1f} s ({result.fps:.2f} fps)"
    )
    table.add_column("line")
    table.add_column("in", justify="right")
    table.add_column("out", justify="right")
    for line_id, counts in result.lines.items():
        table.add_row(line_id, str(counts["in"]), str(counts["out"]))
    Console().print(table)
    Console().print(f"people per frame (mean): {summary['people_per_frame_mean']}")


def _audit_rows(outcome: AuditResult) -> list[dict[str, Any]]:
    """One row per line and direction: the audit table's rows and the report's ``lines``."""
    from edge.audit import LineAudit

    rows: list[dict[str, Any]] = []
    for line_audit in outcome.lines:
        for direction, true, counted in (
            ("in", line_audit.true_entries, line_audit.counted_entries),
            ("out", line_audit.true_exits, line_audit.counted_exits),
        ):
            rows.append(
                {
                    "line": line_audit.line_id,
                    "direction": direction,
                    "true": true,
                    "counted": counted,
                    "error": counted - true,
                    "accuracy_percent": LineAudit.accuracy_percent(true, counted),
                }
            )
    return rows


def _audit_table(title: str, rows: list[dict[str, Any]]) -> Table:
    table = Table(title=title)
    for column in ("line", "direction", "true", "counted", "error", "accuracy %"):
        table.add_column(column, justify="left" if column in {"line", "direction"} else "right")
    for row in rows:
        table.add_row(
            row["line"],
            row["direction"],
            str(row["true"]),
            str(row["counted"]),
            f"{row['error']:+d}",
            f"{row['accuracy_percent']:.1f}",
        )
    return table


def _audit_report(
    outcome: AuditResult, result: ReplayReport, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "lines": rows,
        "frames": outcome.frames,
        "people_mae": round(outcome.people_mae, 4),
        "tracked_people_mae": round(outcome.tracked_people_mae, 4),
        "true_people_mean": round(outcome.true_people_mean, 4),
        "fps": round(result.fps, 3),
        "detector": result.detector,
        "tracker": result.tracker,
    }


@app.command("audit")
def audit_command(
    video: str = typer.Argument(..., help="Video file or folder of images"),
    truth: Path = typer.Option(..., "--truth", help="MOT-format ground truth (gt.txt)"),
    config: Path | None = typer.Option(None, "--config", "-c", help="Edge YAML config"),
    line: list[str] = typer.Option([], "--line", help=LINE_HELP),
    camera: str | None = typer.Option(None, "--camera", help="Camera id in the config"),
    fps: float | None = typer.Option(None, "--fps", help="Override the source frame rate"),
    report: Path | None = typer.Option(None, "--report", help="Write the audit as JSON here"),
) -> None:
    """Count a recording and compare with ground truth: crossings per line and direction,
    accuracy %, per-frame people-count error."""
    from edge.adhoc import build_config
    from edge.audit import TruthError, audit, load_mot

    try:
        edge_config, camera_id = build_config(video, config, line, camera, fps)
        boxes = load_mot(truth)
        result = _progress_replay(edge_config, camera_id)
    except (ConfigError, SourceError, ModelNotFoundError, TruthError) as error:
        raise fail(str(error)) from None
    camera_config = edge_config.camera(camera_id)
    outcome = audit(result, boxes, camera_config, edge_config.counting)
    rows = _audit_rows(outcome)
    title = f"Audit of {video} against {truth.name} ({outcome.frames} frames)"
    Console().print(_audit_table(title, rows))
    Console().print(
        f"people per frame: true mean {outcome.true_people_mean:.2f}, "
        f"MAE detected {outcome.people_mae:.3f}, MAE tracked {outcome.tracked_people_mae:.3f}; "
        f"{result.fps:.2f} fps"
    )
    if report is not None:
        report.write_text(json.dumps(_audit_report(outcome, result, rows), indent=2) + "\n")


@app.command("preview")
def preview_command(
    source: str = typer.Argument(..., help="Video file, folder, stream URL or camera index"),
    config: Path | None = typer.Option(None, "--config", "-c", help="Edge YAML config"),
    out: Path = typer.Option(Path("preview.jpg"), "--out", help="Image to write"),
    line: list[str] = typer.Option([], "--line", help=LINE_HELP),
    camera: str | None = typer.Option(None, "--camera", help="Camera id in the config"),
    frame_number: int = typer.Option(1, "--frame", min=1, help="Frame of a recording to draw"),
) -> None:
    """Draw lines (arrow to the inside), zones and current detections on one frame."""
    import cv2

    from edge.adhoc import build_config
    from edge.vision.detections import reference_points
    from edge.vision.detector import create_detector
    from edge.vision.drawing import draw_overlay
    from edge.vision.sources import open_source

    try:
        edge_config, camera_id = build_config(source, config, line, camera)
        camera_config = edge_config.camera(camera_id)
        frames = open_source(camera_config.source)
        image = None
        for frame in frames:
            if frame.index + 1 >= frame_number:
                image = frame.image
                break
        frames.close()
        if image is None:
            raise SourceError(f"{source} has fewer than {frame_number} frames")
        people = create_detector(edge_config.detector).detect([image])[0]
    except (ConfigError, SourceError, ModelNotFoundError) as error:
        raise fail(str(error)) from None
    points = reference_points(people, edge_config.counting.reference_point)
    if not cv2.imwrite(str(out), draw_overlay(image, camera_config, people, points)):
        raise fail(f"cannot write {out}")
    console.print(f"[green]wrote[/] {out}: {len(people)} people detected")


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
) -> None:
    """The long-running worker: counts every configured camera and publishes intervals (MQTT
    when configured, else JSON lines to output_path). Stops on SIGTERM/SIGINT after closing
    the open intervals; recorded sources stop at their end."""
    import logging
    import signal

    from edge.transport.outbox import OutboxError
    from edge.transport.sinks import open_sink
    from edge.worker import EdgeWorker
    from protocol.version import SOFTWARE_VERSION

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        edge_config = load_config(config)
        sink = open_sink(edge_config, SOFTWARE_VERSION)
    except (ConfigError, OutboxError) as error:
        raise fail(str(error)) from None
    try:
        worker = EdgeWorker(edge_config, sink)
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
    try:
        worker.run()
    except (SourceError, OutboxError) as error:
        sink.stop(stop_timeout)
        raise fail(str(error)) from None
    _print_stopped(worker, sink.stop(stop_timeout), edge_config)


def _print_stopped(worker: EdgeWorker, delivered: bool, edge_config: EdgeConfig) -> None:
    totals = {
        runtime.config.id: {line: vars(counts) for line, counts in runtime.counter.totals.items()}
        for runtime in worker.cameras
    }
    console.print(f"stopped; totals {json.dumps(totals)}; all delivered: {delivered}")
    if not delivered:
        console.print(f"undelivered intervals stay in the outbox {edge_config.outbox.path}")

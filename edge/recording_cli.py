"""``footfall edge replay | audit | preview``: commands that read a recording (or one frame of a
source) and print what the pipeline sees. Heavy imports stay inside the commands."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from command_line.exit_codes import fail
from command_line.options import JSON_OPTION
from command_line.progress import frame_progress
from command_line.tables import Column, print_table
from edge.config import CameraConfig, EdgeConfig
from edge.offline import ModelNotFoundError
from edge.vision.sources import SourceError
from protocol.settings import ConfigError

if TYPE_CHECKING:
    from edge.audit import AuditResult
    from edge.replay import ReplayReport

console = Console(stderr=True, soft_wrap=True)


PROGRESS_LINE_SECONDS = 10.0
"""Without a terminal (a pipe, a log file), a progress line this often instead of a bar."""


def progress_replay(
    config: EdgeConfig,
    camera_id: str,
    keep_tracked: bool = False,
    keep_detected: bool = False,
    label: str = "counting",
) -> ReplayReport:
    """The replay with a progress bar on a terminal, or a plain progress line every
    :data:`PROGRESS_LINE_SECONDS` on standard error when piped, so it is never silent."""
    from edge.replay import replay

    started = time.perf_counter()
    if not console.is_terminal:
        next_line = started + PROGRESS_LINE_SECONDS

        def report_line(done: int, total: int) -> None:
            nonlocal next_line
            now = time.perf_counter()
            if now >= next_line:
                next_line = now + PROGRESS_LINE_SECONDS
                rate = done / max(now - started, 1e-9)
                of_total = f"/{total}" if total >= done else ""  # some containers lie
                console.print(f"{label}: {done}{of_total} frames, {rate:.1f} fps", highlight=False)

        return replay(
            config,
            camera_id,
            on_frame=report_line,
            keep_tracked=keep_tracked,
            keep_detected=keep_detected,
        )

    with frame_progress(console) as progress:
        task = progress.add_task(label, total=None, fps="-")

        def on_frame(done: int, total: int) -> None:
            rate = done / max(time.perf_counter() - started, 1e-9)
            progress.update(task, completed=done, total=total or None, fps=f"{rate:.1f}")

        return replay(
            config,
            camera_id,
            on_frame=on_frame,
            keep_tracked=keep_tracked,
            keep_detected=keep_detected,
        )


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


def replay_command(
    video: str = typer.Argument(..., help="Video file or folder of images"),
    config: Path | None = typer.Option(None, "--config", "-c", help="Edge YAML config"),
    report: Path | None = typer.Option(None, "--report", help="Write the JSON report here"),
    per_frame: Path | None = typer.Option(None, "--per-frame", help="Write per-frame CSV here"),
    line: list[str] = typer.Option([], "--line", help=LINE_HELP),
    camera: str | None = typer.Option(None, "--camera", help="Camera id in the config"),
    fps: float | None = typer.Option(None, "--fps", help="Override the source frame rate"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Run the full pipeline on a recording as fast as it can; print and save the counts."""
    from edge.adhoc import build_config

    try:
        edge_config, camera_id = build_config(video, config, line, camera, fps)
        result = progress_replay(edge_config, camera_id)
    except (ConfigError, SourceError, ModelNotFoundError) as error:
        raise fail(str(error)) from None
    summary = result.to_json()
    if report is not None:
        report.write_text(json.dumps(summary, indent=2) + "\n")
    if per_frame is not None:
        _write_per_frame(result, per_frame)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    output = Console()
    output.print(
        f"{video}: {result.frames} frames in {result.seconds:.1f} s ({result.fps:.2f} fps)"
    )
    print_table(
        output,
        [Column("line"), Column("in", numeric=True), Column("out", numeric=True)],
        [
            [line_id, str(counts["in"]), str(counts["out"])]
            for line_id, counts in result.lines.items()
        ],
    )
    output.print(f"people per frame (mean): {summary['people_per_frame_mean']}")


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


AUDIT_COLUMNS = [
    Column("line"),
    Column("direction"),
    *(Column(header, numeric=True) for header in ("true", "counted", "error", "accuracy %")),
]


def _audit_cells(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            row["line"],
            row["direction"],
            str(row["true"]),
            str(row["counted"]),
            f"{row['error']:+d}",
            f"{row['accuracy_percent']:.1f}",
        ]
        for row in rows
    ]


CROSSING_COLUMNS = [
    Column("time s", numeric=True),
    Column("line"),
    Column("direction"),
    Column("outcome"),
    Column("true frame", numeric=True),
    Column("counted frame", numeric=True),
]


def _crossing_rows(outcome: AuditResult, result: ReplayReport) -> list[dict[str, Any]]:
    """Every true and every counted crossing, with its time from the clip's start."""
    fps = result.source_frames_per_second or 10.0
    return [
        {
            "seconds": round((match.frame - 1) / fps, 2),
            "line": match.line_id,
            "direction": "in" if match.direction.value == "entry" else "out",
            "outcome": match.outcome,
            "true_frame": match.true_frame,
            "counted_frame": match.counted_frame,
        }
        for match in outcome.crossings
    ]


def _crossing_cells(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            f"{row['seconds']:.2f}",
            row["line"],
            row["direction"],
            row["outcome"],
            "" if row["true_frame"] is None else str(row["true_frame"]),
            "" if row["counted_frame"] is None else str(row["counted_frame"]),
        ]
        for row in rows
    ]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _audit_report(
    outcome: AuditResult, result: ReplayReport, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "lines": rows,
        "crossings": _crossing_rows(outcome, result),
        "frames": outcome.frames,
        "people_mae": _rounded(outcome.people_mae),
        "tracked_people_mae": _rounded(outcome.tracked_people_mae),
        "true_people_mean": _rounded(outcome.true_people_mean),
        "people_scale": outcome.people_scale,
        "scaled_people_mae": _rounded(outcome.scaled_people_mae),
        "scaled_people_bias": _rounded(outcome.scaled_people_bias),
        "fps": round(result.fps, 3),
        "detector": result.detector,
        "tracker": result.tracker,
    }


HTML_HELP = (
    "Write a self-contained HTML report here: per crossing, frames around it with the line "
    "and the tracked people (it shows people: keep it on this device)"
)
TRUTH_HELP = (
    "Ground truth: MOT tracks (gt.txt) or a tally CSV time_seconds,line,direction "
    "(in/out; a .csv file or one with that header)"
)


def _write_html(
    path: Path,
    camera: CameraConfig,
    result: ReplayReport,
    outcome: AuditResult,
    title: str,
    tolerance_seconds: float,
) -> None:
    from edge.audit_report import write_audit_html

    try:
        write_audit_html(path, camera, result, outcome, title, tolerance_seconds)
    except (SourceError, OSError) as error:
        raise fail(f"cannot write the HTML report {path}: {error}") from None
    console.print(f"[green]wrote[/] {path}: {len(outcome.crossings)} crossings with frames")


def audit_command(
    video: str = typer.Argument(..., help="Video file or folder of images"),
    truth: Path = typer.Option(..., "--truth", help=TRUTH_HELP),
    config: Path | None = typer.Option(None, "--config", "-c", help="Edge YAML config"),
    line: list[str] = typer.Option([], "--line", help=LINE_HELP),
    camera: str | None = typer.Option(None, "--camera", help="Camera id in the config"),
    fps: float | None = typer.Option(None, "--fps", help="Override the source frame rate"),
    report: Path | None = typer.Option(None, "--report", help="Write the audit as JSON here"),
    tolerance_seconds: float = typer.Option(
        2.0,
        "--tolerance-seconds",
        min=0.0,
        help="Match a counted crossing this close to a true one",
    ),
    html: Path | None = typer.Option(None, "--html", help=HTML_HELP),
    as_json: bool = JSON_OPTION,
) -> None:
    """Count a recording and compare with ground truth (MOT tracks or a tally): every true and
    counted crossing with its time (matched, missed or extra), totals per line and direction,
    accuracy %, per-frame people-count error (MOT only)."""
    from edge.adhoc import build_config
    from edge.audit import TruthError, audit, audit_events, load_mot
    from edge.tally import is_tally, load_tally, tally_events

    try:
        edge_config, camera_id = build_config(video, config, line, camera, fps)
        camera_config = edge_config.camera(camera_id)
        tally_truth = is_tally(truth)
        if tally_truth:
            tally = load_tally(truth, [each.id for each in camera_config.lines])
        else:
            boxes = load_mot(truth)
        result = progress_replay(edge_config, camera_id, keep_tracked=html is not None)
    except (ConfigError, SourceError, ModelNotFoundError, TruthError) as error:
        raise fail(str(error)) from None
    if tally_truth:
        events = tally_events(tally, result.source_frames_per_second or 10.0)
        outcome = audit_events(result, events, camera_config, tolerance_seconds)
    else:
        outcome = audit(result, boxes, camera_config, edge_config.counting, tolerance_seconds)
    rows = _audit_rows(outcome)
    document = _audit_report(outcome, result, rows)
    title = f"Audit of {video} against {truth.name} ({outcome.frames} frames)"
    if report is not None:
        report.write_text(json.dumps(document, indent=2) + "\n")
    if html is not None:
        _write_html(html, camera_config, result, outcome, title, tolerance_seconds)
    if as_json:
        typer.echo(json.dumps(document, indent=2))
        return
    _print_audit(outcome, document, title, tolerance_seconds)


def _print_audit(
    outcome: AuditResult, document: dict[str, Any], title: str, tolerance_seconds: float
) -> None:
    output = Console()
    crossings = document["crossings"]
    print_table(output, CROSSING_COLUMNS, _crossing_cells(crossings), title="Crossings")
    print_table(output, AUDIT_COLUMNS, _audit_cells(document["lines"]), title=title)
    outcomes = [row["outcome"] for row in crossings]
    output.print(
        f"crossings: {outcomes.count('matched')} matched, {outcomes.count('missed')} missed, "
        f"{outcomes.count('extra')} extra (within {tolerance_seconds:g} s of a true one, "
        "same line and direction)"
    )
    if outcome.people_mae is not None and outcome.tracked_people_mae is not None:
        output.print(
            f"people per frame: true mean {outcome.true_people_mean:.2f}, "
            f"MAE detected {outcome.people_mae:.3f}, "
            f"MAE tracked {outcome.tracked_people_mae:.3f}"
            + (
                f", scaled ×{outcome.people_scale:g} (zone occupancy): MAE "
                f"{outcome.scaled_people_mae:.3f}, bias {outcome.scaled_people_bias:+.3f}"
                if outcome.people_scale != 1.0 and outcome.scaled_people_bias is not None
                else ""
            )
            + f"; {document['fps']:.2f} fps"
        )


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
    from edge.vision.regions import RegionDetector
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
        detector = RegionDetector(
            create_detector(edge_config.detector), edge_config.detector.regions
        )
        people = detector.detect([image], [camera_config])[0]
    except (ConfigError, SourceError, ModelNotFoundError) as error:
        raise fail(str(error)) from None
    points = reference_points(people, edge_config.counting.reference_point)
    regions = detector.plan(camera_config, image).regions
    if not cv2.imwrite(str(out), draw_overlay(image, camera_config, people, points, regions)):
        raise fail(f"cannot write {out}")
    console.print(f"[green]wrote[/] {out}: {len(people)} people detected")

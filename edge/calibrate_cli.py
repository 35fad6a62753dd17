"""``footfall edge calibrate``: search the settings that count best on one camera's recording
against its truth, show the best and the shipped defaults, and write the choice into the
config. The search is ``edge.calibration``; heavy imports stay inside the command."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from command_line.exit_codes import fail
from command_line.options import JSON_OPTION, identifiers
from command_line.progress import frame_progress
from command_line.tables import Column, print_table
from edge.config import EdgeConfig, TrackerKind
from edge.offline import ModelNotFoundError
from edge.recording_cli import PROGRESS_LINE_SECONDS, TRUTH_HELP, progress_replay
from edge.vision.sources import SourceError
from protocol.settings import ConfigError

if TYPE_CHECKING:
    from edge.calibration.search import Calibration, Outcome, Recording, Truth
    from edge.calibration.settings import ConfigKey, SearchGrid

console = Console(stderr=True, soft_wrap=True)


def _grid(
    config: EdgeConfig,
    imgsz: list[int],
    tracker: list[str],
    confidence: list[float],
    detector_confidence: list[float],
    band: list[float],
) -> SearchGrid:
    """The search grid from the options; every value is checked as the config would be."""
    from edge.calibration.settings import SearchGrid, Settings

    try:
        kinds = [TrackerKind(kind) for kind in identifiers(tracker)]
    except ValueError:
        known = ", ".join(kind.value for kind in TrackerKind)
        raise ConfigError(f"--tracker {','.join(tracker)}: expected some of {known}") from None
    grid = SearchGrid.around(
        config,
        imgsz=imgsz,
        detector_confidence=detector_confidence,
        track_confidence=confidence,
        kind=kinds,
        band_height_fraction=band,
    )
    shipped = Settings.shipped()
    for option, name in (
        ("--imgsz", "imgsz"),
        ("--detector-confidence", "detector_confidence"),
        ("--confidence", "track_confidence"),
        ("--band", "band_height_fraction"),
    ):
        for value in getattr(grid, name):
            try:
                dataclasses.replace(shipped, **{name: value}).apply(config)
            except ConfigError as error:
                detail = str(error).split("\n", 1)[-1]
                raise ConfigError(f"{option} {value:g}: {detail}") from None
    return grid


def _load_truth(path: Path, config: EdgeConfig, camera_id: str) -> tuple[Truth | None, Any]:
    """MOT truth now, or the tally's rows (their frames need the clip's frame rate)."""
    from edge.audit import TruthError, load_mot
    from edge.calibration.search import Truth
    from edge.tally import is_tally, load_tally

    camera = config.camera(camera_id)
    if is_tally(path):
        return None, load_tally(path, [line.id for line in camera.lines])
    boxes = load_mot(path)
    if not boxes:
        raise TruthError(f"{path}: no annotated people (is it a MOT gt.txt?)")
    return Truth.from_mot(boxes, camera), None


def _record(config: EdgeConfig, camera_id: str, grid: SearchGrid) -> dict[int, Recording]:
    """One replay per input size at the lowest confidence searched, its detections kept."""
    from edge.calibration.search import Recording

    floor = min(grid.detector_confidence)
    stride = config.camera(camera_id).source.stride
    recordings = {}
    for size in grid.imgsz:
        detector = config.detector.model_copy(update={"imgsz": size, "confidence": floor})
        report = progress_replay(
            config.model_copy(update={"detector": detector}),
            camera_id,
            keep_detected=True,
            label=f"detecting at imgsz {size}",
        )
        source_rate = report.source_frames_per_second or 10.0
        recordings[size] = Recording(
            size, floor, report.detected, source_rate / stride, source_rate, report.regions
        )
        console.print(
            f"imgsz {size}: {len(report.detected)} frames detected in {report.seconds:.1f} s"
            f" ({report.detector})",
            highlight=False,
        )
    return recordings


def _tally_truth(path: Path, tally: Any, recording: Recording, tolerance_seconds: float) -> Truth:
    from edge.audit import TruthError
    from edge.calibration.search import Truth
    from edge.tally import tally_events

    rate = recording.source_frames_per_second
    events = tally_events(tally, rate)
    last = recording.frames[-1].frame if recording.frames else 0
    late = [event for event in events if event.frame > last + tolerance_seconds * rate]
    if late:
        seconds = (late[0].frame - 1) / rate
        raise TruthError(f"{path}: a crossing at {seconds:.1f} s, after the clip's end")
    return Truth(events)


def _search(
    config: EdgeConfig,
    camera_id: str,
    recordings: dict[int, Recording],
    truth: Truth,
    grid: SearchGrid,
    tolerance_seconds: float,
) -> Calibration:
    """The search with a progress bar on a terminal, else a plain line now and then."""
    from edge.calibration.search import search

    started = time.perf_counter()
    next_line = started + PROGRESS_LINE_SECONDS
    with contextlib.ExitStack() as stack:
        progress = stack.enter_context(frame_progress(console)) if console.is_terminal else None
        task = None if progress is None else progress.add_task("searching", total=None, fps="-")

        def on_progress(done: int, total: int) -> None:
            nonlocal next_line
            now = time.perf_counter()
            if progress is not None and task is not None:
                rate = f"{done / max(now - started, 1e-9):.1f}"
                progress.update(task, completed=done, total=total, fps=rate)
            elif now >= next_line:
                next_line = now + PROGRESS_LINE_SECONDS
                console.print(f"searching: {done}/{total} combinations", highlight=False)

        return search(
            config,
            camera_id,
            recordings,
            truth,
            grid,
            tolerance_seconds=tolerance_seconds,
            on_progress=on_progress,
        )


def _row(outcome: Outcome) -> dict[str, Any]:
    settings, score = outcome.settings, outcome.score
    return {
        "settings": {
            "detector.imgsz": settings.imgsz,
            "detector.confidence": settings.detector_confidence,
            "tracker.kind": settings.kind.value,
            "tracker.high_confidence": settings.track_confidence,
            "tracker.new_track_confidence": settings.track_confidence,
            "tracker.confirm_frames": settings.confirm_frames,
            "counting.band_height_fraction": settings.band_height_fraction,
            "counting.reference_point": settings.reference_point.value,
        },
        "crossings_wrong": score.crossings_wrong,
        "crossings_unmatched": score.crossings_unmatched,
        "people_mae": None if score.people_mae is None else round(score.people_mae, 4),
        "people_bias": None if score.people_bias is None else round(score.people_bias, 4),
        "lines": {
            line: {"in": entries, "out": exits} for line, (entries, exits) in score.lines.items()
        },
        "settings_changed_from_defaults": outcome.distance[0],
    }


SCORE_COLUMNS = ["wrong", "unmatched", "people MAE", "people bias"]


def _cells(outcome: Outcome, mark: str) -> list[str]:
    score = outcome.score
    people = [
        "-" if score.people_mae is None else f"{score.people_mae:.3f}",
        "-" if score.people_bias is None else f"{score.people_bias:+.3f}",
    ]
    labels = list(outcome.settings.label().values())
    return [mark, *labels, str(score.crossings_wrong), str(score.crossings_unmatched), *people]


def _print(calibration: Calibration, top: int, title: str) -> None:
    from edge.calibration.settings import LEGEND

    output = Console()
    shown = calibration.outcomes[:top]
    rows = [
        _cells(outcome, "chosen" if index == 0 else str(index + 1))
        for index, outcome in enumerate(shown)
    ]
    if calibration.defaults in shown:
        rows[shown.index(calibration.defaults)][0] += " = defaults"
    else:
        rank = calibration.outcomes.index(calibration.defaults) + 1
        rows.append(_cells(calibration.defaults, f"defaults ({rank})"))
    headers = list(calibration.chosen.settings.label())
    columns = [
        Column("rank"),
        *(Column(header, numeric=header not in ("tracker", "point")) for header in headers),
        *(Column(header, numeric=True) for header in SCORE_COLUMNS),
    ]
    print_table(output, columns, rows, title=title)
    output.print(LEGEND, highlight=False)
    chosen, defaults = calibration.chosen.score, calibration.defaults.score
    output.print(
        f"chosen: {chosen.crossings_wrong} crossings wrong, {chosen.crossings_unmatched} "
        f"unmatched (defaults: {defaults.crossings_wrong}, {defaults.crossings_unmatched})"
        + (
            f"; people per frame MAE {chosen.people_mae:.3f}, bias {chosen.people_bias:+.3f} "
            f"(defaults: {defaults.people_mae:.3f}, {defaults.people_bias:+.3f})"
            if chosen.people_mae is not None
            and chosen.people_bias is not None
            and defaults.people_mae is not None
            and defaults.people_bias is not None
            else ""
        ),
        highlight=False,
    )
    if calibration.people_scale is not None:
        fit = calibration.people_scale
        output.print(
            f"people scale {fit.scale:g} (counting.people_scale, zone occupancy): people per "
            f"frame bias {fit.bias_before:+.3f} -> {fit.bias_after:+.3f}, MAE "
            f"{fit.mae_before:.3f} -> {fit.mae_after:.3f}"
            + ("" if fit.changed else " (|bias| at most 0.05: no scale)"),
            highlight=False,
        )


def _write(
    path: Path, config: EdgeConfig, camera_id: str, changes: dict[ConfigKey, tuple[Any, Any]]
) -> dict[str, Any]:
    """Write the changed keys into ``path``; what was written, for the output."""
    from edge.calibration.config_file import write_config_keys

    written: dict[str, Any] = {"path": str(path), "backup": None, "changed": {}}
    for (section, name), (old, new) in changes.items():
        old_value, new_value = (getattr(item, "value", item) for item in (old, new))
        written["changed"][f"{section}.{name}"] = {"from": old_value, "to": new_value}
    others = [camera.id for camera in config.cameras if camera.id != camera_id]
    written["other_cameras"] = others
    if changes:
        written["backup"] = str(
            write_config_keys(path, {key: new for key, (_, new) in changes.items()})
        )
    return written


def _print_written(written: dict[str, Any], camera_id: str) -> None:
    if not written["changed"]:
        console.print(f"{written['path']} already has the chosen settings: nothing written")
        return
    changed = ", ".join(
        f"{key} {change['from']} -> {change['to']}" for key, change in written["changed"].items()
    )
    console.print(
        f"[green]wrote[/] {written['path']} (backup {written['backup']}): {changed}",
        highlight=False,
    )
    if written["other_cameras"]:
        console.print(
            "detector, tracker and counting settings are global in the config: they now apply "
            f"to every camera ({', '.join([camera_id, *written['other_cameras']])}), not only "
            f"{camera_id}",
            highlight=False,
        )


def calibrate_command(
    clip: str = typer.Argument(..., help="Recording of the camera: video file or folder of images"),
    config: Path = typer.Option(
        ..., "--config", "-c", help="Edge YAML config (--write changes it)"
    ),
    truth: Path = typer.Option(..., "--truth", help=TRUTH_HELP),
    camera: str | None = typer.Option(None, "--camera", help="Camera id in the config"),
    imgsz: list[int] = typer.Option(
        [], "--imgsz", help="Input size to try; repeatable (default: the configured one, 256 more)"
    ),
    tracker: list[str] = typer.Option(
        [], "--tracker", help="Tracker kind to try: bytetrack, ocsort, botsort (default: all)"
    ),
    confidence: list[float] = typer.Option(
        [], "--confidence", help="Tracker confidence to try; repeatable (default 0.10-0.25)"
    ),
    detector_confidence: list[float] = typer.Option(
        [], "--detector-confidence", help="Detector confidence to try (default 0.05-0.25)"
    ),
    band: list[float] = typer.Option(
        [], "--band", help="Band height fraction to try; repeatable (default 0.04-0.12)"
    ),
    tolerance_seconds: float = typer.Option(
        2.0,
        "--tolerance-seconds",
        min=0.0,
        help="Match a counted crossing this close to a true one",
    ),
    top: int = typer.Option(10, "--top", min=1, help="Show this many of the best combinations"),
    write: bool = typer.Option(
        False, "--write", help="Write the chosen settings into the config (backup: .bak)"
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Find the detector, tracker and counting settings that count this camera best: the
    detector runs once per input size, every other combination re-tracks its detections.
    Scores crossings against the truth (MOT tracks or a tally) and, with MOT, people per
    frame; prints the best, the shipped defaults, and the choice (ties keep the defaults),
    then, with MOT, the people scale for zone occupancy (true / counted people per frame)."""
    from edge.adhoc import build_config
    from edge.audit import TruthError

    started = time.perf_counter()
    try:
        edge_config, camera_id = build_config(clip, config, [], camera)
        if not edge_config.camera(camera_id).lines:
            raise ConfigError(f"camera {camera_id!r} in {config} has no lines to calibrate")
        grid = _grid(edge_config, imgsz, tracker, confidence, detector_confidence, band)
        mot_truth, tally = _load_truth(truth, edge_config, camera_id)
        recordings = _record(edge_config, camera_id, grid)
        first = recordings[grid.imgsz[0]]
        truth_used = mot_truth or _tally_truth(truth, tally, first, tolerance_seconds)
        calibration = _search(
            edge_config, camera_id, recordings, truth_used, grid, tolerance_seconds
        )
        changes = calibration.changes(edge_config)
        written = _write(config, edge_config, camera_id, changes) if write else None
    except (ConfigError, SourceError, ModelNotFoundError, TruthError, ValueError) as error:
        raise fail(str(error)) from None
    document = {
        "camera": camera_id,
        "truth": "mot" if mot_truth is not None else "tally",
        "combinations": len(calibration.outcomes),
        "seconds": round(time.perf_counter() - started, 1),
        "best": [_row(outcome) for outcome in calibration.outcomes[:top]],
        "defaults": _row(calibration.defaults),
        "chosen": _row(calibration.chosen),
        "people_scale": None
        if calibration.people_scale is None
        else {
            key: round(value, 4)
            for key, value in dataclasses.asdict(calibration.people_scale).items()
        },
        "changes": {
            f"{section}.{name}": getattr(new, "value", new)
            for (section, name), (_, new) in changes.items()
        },
        "written": written,
    }
    if as_json:
        typer.echo(json.dumps(document, indent=2))
    else:
        kind = "MOT tracks" if mot_truth is not None else "a tally"
        title = (
            f"Calibration of camera {camera_id} on {Path(clip).name} against {kind}: "
            f"{len(calibration.outcomes)} combinations in {document['seconds']} s"
        )
        _print(calibration, top, title)
    if written is not None:
        _print_written(written, camera_id)
    elif not as_json:
        changed = ", ".join(f"{section}.{name}" for section, name in changes) or "none"
        console.print(f"keys --write would change: {changed}", highlight=False)

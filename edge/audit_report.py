"""The audit as one self-contained HTML file (``footfall edge audit --html``): the summary table
and, per crossing (matched, missed or extra), a strip of thumbnails around it with the line and
the tracked people drawn, so a person can check each crossing in a minute.

Self-contained: the CSS is inline and every image is a base64 JPEG data URI, so the file opens
offline and refers to nothing outside itself. The frames show people: the file is written only
where asked, on the device that ran the audit, and nothing is published.
"""

from __future__ import annotations

import base64
import bisect
import html
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from edge.audit import AuditResult, CrossingMatch, LineAudit
from edge.config import CameraConfig
from edge.replay import ReplayReport
from edge.vision.drawing import draw_tracked_frame
from edge.vision.sources import Image, SourceError, open_source

STRIP_FRAMES = 5
"""Thumbnails per crossing (fewer at the clip's ends or on a short clip)."""
STRIP_MARGIN_SECONDS = 1.0
"""The strip starts this long before the first of the true and counted frames and ends this
long after the last: a person walks about a metre, enough to see them cross."""
THUMBNAIL_WIDTH_PX = 320
JPEG_QUALITY = 75
DIRECTION_WORDS = {"entry": "in", "exit": "out"}

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 2px 8px; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
.strip { margin: 0 0 1.2em; padding: 0.4em 0.6em; border-left: 6px solid #999; }
.strip h2 { font-size: 15px; margin: 0 0 0.3em; }
.matched { border-color: #2a2; } .missed { border-color: #d80; } .extra { border-color: #c22; }
.frames { display: flex; flex-wrap: wrap; gap: 4px; }
figure { margin: 0; } figcaption { font-size: 12px; color: #555; }
"""


def strip_frames(
    match: CrossingMatch, kept_frames: Sequence[int], frames_per_second: float
) -> list[int]:
    """Up to :data:`STRIP_FRAMES` frames (1-based, in order, no repeats) evenly spread from
    :data:`STRIP_MARGIN_SECONDS` before the first of the true and counted frames to as long
    after the last, the spread point nearest each of those two replaced by the frame itself;
    each snapped to the nearest of ``kept_frames`` (sorted: the frames the replay processed;
    the earlier on a tie)."""
    if not kept_frames:
        return []
    anchors = [frame for frame in (match.true_frame, match.counted_frame) if frame is not None]
    margin = STRIP_MARGIN_SECONDS * frames_per_second
    points = [
        float(point)
        for point in np.linspace(min(anchors) - margin, max(anchors) + margin, STRIP_FRAMES)
    ]
    free = list(range(len(points)))
    for anchor in anchors:
        closest = min(free, key=lambda index: abs(points[index] - anchor))
        points[closest] = anchor
        free.remove(closest)
    return sorted({_nearest(kept_frames, point) for point in points})


def _nearest(kept_frames: Sequence[int], wanted: float) -> int:
    index = bisect.bisect_left(kept_frames, wanted)
    candidates = kept_frames[max(0, index - 1) : index + 1]
    return min(candidates, key=lambda frame: (abs(frame - wanted), frame))


def write_audit_html(
    path: Path,
    camera: CameraConfig,
    report: ReplayReport,
    outcome: AuditResult,
    title: str,
    tolerance_seconds: float,
) -> None:
    """Read the frames of every strip again from ``camera``'s source (one pass, only the
    thumbnails kept in memory), draw them with the people ``report`` tracked (replayed with
    ``keep_tracked``) and write the page. Raises ``SourceError`` or ``OSError``."""
    frames_per_second = report.source_frames_per_second or 10.0
    kept = sorted(report.tracked)
    strips = [strip_frames(match, kept, frames_per_second) for match in outcome.crossings]
    images = _thumbnails(camera, report, outcome.crossings, strips, frames_per_second)
    page = render_page(title, outcome, strips, images, frames_per_second, tolerance_seconds)
    path.write_text(page, encoding="utf-8")


def _thumbnails(
    camera: CameraConfig,
    report: ReplayReport,
    matches: list[CrossingMatch],
    strips: list[list[int]],
    frames_per_second: float,
) -> list[list[str]]:
    """Per strip, its thumbnails as base64 JPEG."""
    wanted: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for strip_index, frames in enumerate(strips):
        for position, frame in enumerate(frames):
            wanted[frame].append((strip_index, position))
    encoded = [[""] * len(frames) for frames in strips]
    source = open_source(camera.source)
    try:
        for source_frame in source:
            if not wanted:
                break
            frame = source_frame.index + 1
            for strip_index, position in wanted.pop(frame, []):
                image = _thumbnail(
                    source_frame.image,
                    camera,
                    report,
                    frame,
                    matches[strip_index],
                    frames_per_second,
                )
                encoded[strip_index][position] = _jpeg_base64(image)
    finally:
        source.close()
    if wanted:
        raise SourceError(f"{camera.source.uri} ended before frame {min(wanted)}")
    return encoded


def _thumbnail(
    image: Image,
    camera: CameraConfig,
    report: ReplayReport,
    frame: int,
    match: CrossingMatch,
    frames_per_second: float,
) -> Image:
    tracked = report.tracked[frame]
    return draw_tracked_frame(
        image,
        camera,
        tracked.boxes,
        tracked.person_ids,
        tracked.points,
        match.counted_person_id,
        f"{(frame - 1) / frames_per_second:.1f} s",
        THUMBNAIL_WIDTH_PX,
    )


def _jpeg_base64(image: Image) -> str:
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("OpenCV could not encode a thumbnail as JPEG")
    return base64.b64encode(buffer.tobytes()).decode("ascii")


def render_page(
    title: str,
    outcome: AuditResult,
    strips: list[list[int]],
    images: list[list[str]],
    frames_per_second: float,
    tolerance_seconds: float,
) -> str:
    """The page: pure text from the audit, the strips' frame numbers and their images."""
    outcomes = [match.outcome for match in outcome.crossings]
    counts = ", ".join(f"{outcomes.count(word)} {word}" for word in ("matched", "missed", "extra"))
    people = (
        ""
        if outcome.people_mae is None
        else f"<p>People per frame: true mean {outcome.true_people_mean:.2f}, MAE detected "
        f"{outcome.people_mae:.3f}, MAE tracked {outcome.tracked_people_mae:.3f}"
        + (
            f", scaled ×{outcome.people_scale:g} as zone occupancy: MAE "
            f"{outcome.scaled_people_mae:.3f}, bias {outcome.scaled_people_bias:+.3f}"
            if outcome.people_scale != 1.0 and outcome.scaled_people_bias is not None
            else ""
        )
        + ".</p>"
    )
    sections = [
        _strip_section(number, match, frames, pictures, frames_per_second)
        for number, (match, frames, pictures) in enumerate(
            zip(outcome.crossings, strips, images, strict=True), start=1
        )
    ]
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
            f"<h1>{html.escape(title)}</h1>",
            f"<p>{outcome.frames} frames. Crossings: {counts} (a counted crossing matches a "
            f"true one of the same line and direction within {tolerance_seconds:g} s). "
            "The frames show people: keep this file on the device that made it.</p>",
            _summary_table(outcome.lines),
            people,
            *sections,
            "</body></html>",
            "",
        ]
    )


def _summary_table(lines: list[LineAudit]) -> str:
    header = "".join(
        f"<th>{name}</th>"
        for name in ("line", "direction", "true", "counted", "error", "accuracy %")
    )
    rows = []
    for line in lines:
        for direction, true, counted in (
            ("in", line.true_entries, line.counted_entries),
            ("out", line.true_exits, line.counted_exits),
        ):
            numbers = (
                str(true),
                str(counted),
                f"{counted - true:+d}",
                f"{LineAudit.accuracy_percent(true, counted):.1f}",
            )
            cells = "".join(f'<td class="number">{number}</td>' for number in numbers)
            rows.append(f"<tr><td>{html.escape(line.line_id)}</td><td>{direction}</td>{cells}</tr>")
    return f'<table class="summary"><tr>{header}</tr>{"".join(rows)}</table>'


def _strip_section(
    number: int,
    match: CrossingMatch,
    frames: list[int],
    pictures: list[str],
    frames_per_second: float,
) -> str:
    seconds = (match.frame - 1) / frames_per_second
    direction = DIRECTION_WORDS[match.direction.value]
    details = [
        f"true frame {match.true_frame}" if match.true_frame is not None else "",
        f"counted frame {match.counted_frame}" if match.counted_frame is not None else "",
        f"person #{match.counted_person_id} (magenta)"
        if match.counted_person_id is not None
        else "",
    ]
    heading = (
        f"{number}. {seconds:.2f} s, {html.escape(match.line_id)} {direction}: "
        f"{match.outcome} ({', '.join(detail for detail in details if detail)})"
    )
    figures = "".join(
        f'<figure><img src="data:image/jpeg;base64,{picture}" alt="frame {frame}">'
        f"<figcaption>frame {frame}{_role(match, frame)}</figcaption></figure>"
        for frame, picture in zip(frames, pictures, strict=True)
    )
    return (
        f'<section class="strip {match.outcome}" id="crossing-{number}">'
        f'<h2>{heading}</h2><div class="frames">{figures}</div></section>'
    )


def _role(match: CrossingMatch, frame: int) -> str:
    roles = [
        word
        for word, at in (("true", match.true_frame), ("counted", match.counted_frame))
        if at == frame
    ]
    return f" ({' and '.join(roles)})" if roles else ""

"""Draws lines (with an arrow to the inside), zones, the detector's regions and detections on
a frame, so an installer can check placement, and the audit's thumbnails of tracked people
around a crossing. Uses OpenCV's built-in Hershey fonts: no font download."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from edge.config import CameraConfig
from edge.vision.detections import FloatArray, IntArray, People
from edge.vision.regions import Rectangle
from edge.vision.sources import Image

LINE_COLOUR = (0, 200, 255)
ZONE_COLOUR = (255, 160, 0)
PERSON_COLOUR = (60, 220, 60)
HIGHLIGHT_COLOUR = (255, 0, 255)
POINT_COLOUR = (0, 0, 255)
REGION_COLOUR = (255, 255, 255)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _dashed_rectangle(image: Image, region: Rectangle, dash_px: int = 12) -> None:
    right, bottom = region.right - 1, region.bottom - 1
    corners = [
        (region.left, region.top),
        (right, region.top),
        (right, bottom),
        (region.left, bottom),
    ]
    for (x1, y1), (x2, y2) in zip(corners, corners[1:] + corners[:1], strict=True):
        length = max(abs(x2 - x1), abs(y2 - y1))
        for start in range(0, length, 2 * dash_px):
            end = min(start + dash_px, length)
            first = (x1 + (x2 - x1) * start // length, y1 + (y2 - y1) * start // length)
            last = (x1 + (x2 - x1) * end // length, y1 + (y2 - y1) * end // length)
            cv2.line(image, first, last, REGION_COLOUR, 2, cv2.LINE_AA)


def _label(
    image: Image,
    text: str,
    origin: tuple[int, int],
    colour: tuple[int, int, int],
    font_scale: float = 0.6,
) -> None:
    cv2.putText(image, text, origin, FONT, font_scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(image, text, origin, FONT, font_scale, colour, 1, cv2.LINE_AA)


def draw_overlay(
    image: Image,
    camera: CameraConfig,
    people: People,
    points: FloatArray,
    regions: Sequence[Rectangle] = (),
) -> Image:
    """A copy of ``image`` with the camera's lines and zones, the regions the detector looks
    at (dashed outline; none: the full frame) and the people drawn on it."""
    canvas = image.copy()
    for region in regions:
        _dashed_rectangle(canvas, region)
        _label(canvas, "detector region", (region.left + 4, region.bottom - 8), REGION_COLOUR)
    canvas = _draw_regions_of_camera(canvas, camera)
    for box, score in zip(people.boxes, people.scores, strict=True):
        x1, y1, x2, y2 = (round(float(value)) for value in box)
        cv2.rectangle(canvas, (x1, y1), (x2, y2), PERSON_COLOUR, 2)
        _label(canvas, f"{score:.2f}", (x1, max(12, y1 - 4)), PERSON_COLOUR)
    for point in points:
        cv2.circle(canvas, (int(point[0]), int(point[1])), 4, POINT_COLOUR, -1, cv2.LINE_AA)
    _label(canvas, f"people: {len(people)}", (10, 24), (255, 255, 255))
    return canvas


def draw_tracked_frame(
    image: Image,
    camera: CameraConfig,
    boxes: FloatArray,
    person_ids: IntArray,
    points: FloatArray,
    highlight_person_id: int | None,
    caption: str,
    width_px: int,
) -> Image:
    """A thumbnail ``width_px`` wide of ``image`` (aspect kept) with the camera's lines and
    zones, and each tracked person's box, id and reference point (``boxes`` and ``points`` in
    source pixels); the person ``highlight_person_id`` stands out (thicker, in
    :data:`HIGHLIGHT_COLOUR`). People and ``caption`` are drawn after scaling down, so their
    labels stay legible on a small thumbnail."""
    canvas = _draw_regions_of_camera(image.copy(), camera)
    height, width = canvas.shape[:2]
    scale = width_px / width
    thumbnail = cv2.resize(
        canvas, (width_px, max(1, round(height * scale))), interpolation=cv2.INTER_AREA
    ).astype(np.uint8, copy=False)
    for box, person_id in zip(boxes, person_ids, strict=True):
        highlighted = highlight_person_id is not None and int(person_id) == highlight_person_id
        colour = HIGHLIGHT_COLOUR if highlighted else PERSON_COLOUR
        x1, y1, x2, y2 = (round(float(value) * scale) for value in box)
        cv2.rectangle(thumbnail, (x1, y1), (x2, y2), colour, 2 if highlighted else 1)
        _label(thumbnail, f"{int(person_id)}", (x1, max(10, y1 - 3)), colour, 0.4)
    for point in points:
        centre = (int(point[0] * scale), int(point[1] * scale))
        cv2.circle(thumbnail, centre, 2, POINT_COLOUR, -1, cv2.LINE_AA)
    _label(thumbnail, caption, (4, 16), (255, 255, 255), 0.5)
    return thumbnail


def _draw_regions_of_camera(canvas: Image, camera: CameraConfig) -> Image:
    """The camera's zones (shaded) and lines (with the arrow to the inside) on ``canvas``."""
    for zone in camera.zones:
        polygon = np.array(zone.polygon, dtype=np.int32).reshape(-1, 1, 2)
        shade = canvas.copy()
        cv2.fillPoly(shade, [polygon], ZONE_COLOUR)
        canvas = cv2.addWeighted(shade, 0.2, canvas, 0.8, 0).astype(np.uint8, copy=False)
        cv2.polylines(canvas, [polygon], True, ZONE_COLOUR, 2, cv2.LINE_AA)
        anchor = polygon.reshape(-1, 2).min(axis=0)
        _label(canvas, f"zone {zone.id}", (int(anchor[0]) + 4, int(anchor[1]) + 18), ZONE_COLOUR)
    for line in camera.lines:
        geometry = line.geometry()
        start = (round(line.points[0][0]), round(line.points[0][1]))
        end = (round(line.points[1][0]), round(line.points[1][1]))
        cv2.line(canvas, start, end, LINE_COLOUR, 3, cv2.LINE_AA)
        middle = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
        normal = geometry.unit_normal
        arrow_length = max(30.0, min(80.0, geometry.length / 4))
        tip = (int(middle[0] + normal[0] * arrow_length), int(middle[1] + normal[1] * arrow_length))
        cv2.arrowedLine(
            canvas, (int(middle[0]), int(middle[1])), tip, LINE_COLOUR, 3, cv2.LINE_AA, 0, 0.3
        )
        _label(canvas, f"{line.id}: in", (tip[0] + 6, tip[1]), LINE_COLOUR)
    return canvas

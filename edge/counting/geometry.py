"""Plane geometry in source-frame pixel coordinates (x right, y down). Pure numpy."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Point = tuple[float, float]


@dataclass(frozen=True)
class DirectedLine:
    """A finite counting line whose positive side is the side that holds ``inside``.

    Direction comes from the line's normal, never from the frame axes, so a line may have
    any orientation. ``signed_distance`` is in pixels: positive on the store side.
    """

    start: Point
    end: Point
    inside: Point

    def __post_init__(self) -> None:
        if self.length < 1.0:
            raise ValueError(f"line {self.start}->{self.end} is shorter than 1 px")
        inside_offset = self._raw_distance(np.array([self.inside], dtype=np.float64))[0]
        if abs(inside_offset) < 1.0:
            raise ValueError(
                f"inside point {self.inside} lies on the line {self.start}->{self.end}"
            )

    @property
    def length(self) -> float:
        return math.hypot(self.end[0] - self.start[0], self.end[1] - self.start[1])

    @property
    def unit_normal(self) -> Point:
        """Unit normal pointing to the ``inside`` side."""
        direction_x = (self.end[0] - self.start[0]) / self.length
        direction_y = (self.end[1] - self.start[1]) / self.length
        normal = (-direction_y, direction_x)
        inside_x, inside_y = self.inside[0] - self.start[0], self.inside[1] - self.start[1]
        if normal[0] * inside_x + normal[1] * inside_y < 0:
            normal = (direction_y, -direction_x)
        return normal

    def _raw_distance(self, points: FloatArray) -> FloatArray:
        direction = np.array(self.end, dtype=np.float64) - np.array(self.start, dtype=np.float64)
        offsets = points - np.array(self.start, dtype=np.float64)
        cross = direction[0] * offsets[:, 1] - direction[1] * offsets[:, 0]
        result: FloatArray = cross / float(np.hypot(direction[0], direction[1]))
        return result

    def signed_distance(self, points: FloatArray) -> FloatArray:
        """Distance in px of each point (N×2) from the infinite line; positive = inside."""
        normal = np.array(self.unit_normal, dtype=np.float64)
        offsets = points - np.array(self.start, dtype=np.float64)
        result: FloatArray = offsets @ normal
        return result

    def crossing_within_segment(
        self, before: FloatArray, after: FloatArray, tolerance_px: float
    ) -> npt.NDArray[np.bool_]:
        """Whether each movement ``before[i] -> after[i]`` meets the infinite line at a point
        no further than ``tolerance_px`` beyond either end of the finite segment.

        Movements that do not change side return False.
        """
        distance_before = self.signed_distance(before)
        distance_after = self.signed_distance(after)
        changes_side = np.sign(distance_before) != np.sign(distance_after)
        denominator = np.where(changes_side, distance_before - distance_after, 1.0)
        fraction = np.where(changes_side, distance_before / denominator, 0.0)
        meeting = before + fraction[:, None] * (after - before)
        direction = (np.array(self.end) - np.array(self.start)) / self.length
        along = (meeting - np.array(self.start, dtype=np.float64)) @ direction
        within = (along >= -tolerance_px) & (along <= self.length + tolerance_px)
        result: npt.NDArray[np.bool_] = changes_side & within
        return result


@dataclass(frozen=True)
class Polygon:
    """A simple polygon given by its vertices in order (either winding)."""

    vertices: tuple[Point, ...]

    def __post_init__(self) -> None:
        if len(self.vertices) < 3:
            raise ValueError(f"a polygon needs at least 3 vertices, got {len(self.vertices)}")
        if abs(self.area) < 1.0:
            raise ValueError(f"polygon {self.vertices} has no area")

    @property
    def area(self) -> float:
        xs = np.array([vertex[0] for vertex in self.vertices])
        ys = np.array([vertex[1] for vertex in self.vertices])
        return 0.5 * float(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1)))

    def contains(self, points: FloatArray) -> npt.NDArray[np.bool_]:
        """Even-odd rule, vectorised over points (N×2). Points on an edge may go either way."""
        inside = np.zeros(len(points), dtype=bool)
        if len(points) == 0:
            return inside
        xs, ys = points[:, 0], points[:, 1]
        count = len(self.vertices)
        for index in range(count):
            x1, y1 = self.vertices[index]
            x2, y2 = self.vertices[(index + 1) % count]
            straddles = (y1 > ys) != (y2 > ys)
            if not straddles.any():
                continue
            crossing_x = x1 + (ys - y1) * (x2 - x1) / ((y2 - y1) if y2 != y1 else 1e-12)
            inside ^= straddles & (xs < crossing_x)
        return inside

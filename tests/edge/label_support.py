"""Tiny synthetic clips for ``footfall edge label`` tests: every frame shows its number, and
two grey squares whose brightness encodes it (``number % 32`` and ``number // 32`` times
:data:`SHADE_STEP`, frames 1 to 1023), so a test can tell which frame it was served without
reading text."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

WIDTH, HEIGHT = 320, 240
SHADE_STEP = 8
DOOR = "door=160,0,160,240@40,120"
"""A vertical line through the middle; the store side on the left."""


def numbered_frame(number: int) -> np.ndarray:
    image = np.full((HEIGHT, WIDTH, 3), 40, np.uint8)
    image[:40, :40] = number % 32 * SHADE_STEP
    image[:40, 40:80] = number // 32 * SHADE_STEP
    cv2.putText(
        image, f"frame {number}", (60, 130), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 2
    )
    return image


def write_numbered_clip(path: Path, frames: int = 30, fps: float = 10.0) -> Path:
    """An MJPG ``.avi`` of ``frames`` numbered frames (1-based, as the page shows them)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (WIDTH, HEIGHT))
    for number in range(1, frames + 1):
        writer.write(numbered_frame(number))
    writer.release()
    return path


def write_numbered_folder(path: Path, frames: int = 30, fps: float = 10.0) -> Path:
    """A MOT-style folder: ``img1/000001.png`` ... and ``seqinfo.ini`` with the frame rate."""
    (path / "img1").mkdir(parents=True)
    for number in range(1, frames + 1):
        cv2.imwrite(str(path / "img1" / f"{number:06d}.png"), numbered_frame(number))
    (path / "seqinfo.ini").write_text(f"[Sequence]\nframeRate={fps:g}\n")
    return path


def frame_number_of(image: np.ndarray) -> int:
    """The number of a frame drawn by :func:`numbered_frame` (decoded: JPEG changes the shade
    by a level or two)."""
    low = round(float(image[5:35, 5:35].mean()) / SHADE_STEP)
    high = round(float(image[5:35, 45:75].mean()) / SHADE_STEP)
    return high * 32 + low


def jpeg_frame_number(data: bytes) -> int:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "not a JPEG"
    return frame_number_of(image)

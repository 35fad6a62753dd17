"""The audit's HTML report without a model: synthetic frames on disk, tracked people and
crossings made up, a tally as the truth. Self-contained, one strip per crossing, images that
decode to the thumbnail size."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.audit import CrossingMatch, audit_events
from edge.audit_report import THUMBNAIL_WIDTH_PX, strip_frames, write_audit_html
from edge.config import CameraConfig, parse_config
from edge.counting.counters import Direction
from edge.replay import CrossingEvent, FrameRecord, ReplayReport, TrackedFrame
from edge.tally import TallyCrossing, tally_events

E, X = Direction.ENTRY, Direction.EXIT
ALL_FRAMES = list(range(1, 101))


@pytest.mark.parametrize(
    ("true_frame", "counted_frame", "kept", "expected"),
    [
        # one frame at 10 fps: itself and 0.5 s, 1 s either side
        (50, None, ALL_FRAMES, [40, 45, 50, 55, 60]),
        (None, 50, ALL_FRAMES, [40, 45, 50, 55, 60]),
        # matched: 1 s before the true frame, the true and the counted frame, 1 s after
        (50, 57, ALL_FRAMES, [40, 50, 53, 57, 67]),
        (19, 20, ALL_FRAMES, [9, 14, 19, 20, 30]),
        # at the clip's start: frames before frame 1 snap to it, no repeats
        (3, None, ALL_FRAMES, [1, 3, 8, 13]),
        # stride 2 (odd frames processed): the nearest kept, the earlier on a tie
        (50, None, ALL_FRAMES[::2], [39, 45, 49, 55, 59]),
        # past the end (a tally beyond the clip): the last frame
        (130, None, ALL_FRAMES, [100]),
        (50, None, [], []),
    ],
)
def test_strip_frames(
    true_frame: int | None, counted_frame: int | None, kept: list[int], expected: list[int]
) -> None:
    match = CrossingMatch("door", E, true_frame, counted_frame)
    assert strip_frames(match, kept, frames_per_second=10.0) == expected


WIDTH, HEIGHT, FRAMES = 320, 240, 40


@pytest.fixture(scope="module")
def camera(tmp_path_factory: pytest.TempPathFactory) -> CameraConfig:
    """40 grey frames of 320×240 at 10 fps, a door line across the middle."""
    folder = tmp_path_factory.mktemp("frames")
    for frame in range(1, FRAMES + 1):
        image = np.full((HEIGHT, WIDTH, 3), 90 + frame, dtype=np.uint8)
        cv2.imwrite(str(folder / f"{frame:06d}.png"), image)
    return parse_config(
        {
            "store_id": "s",
            "cameras": [
                {
                    "id": "c",
                    "source": {"uri": str(folder), "fps": 10},
                    "lines": [{"id": "door", "points": [[0, 120], [320, 120]], "inside": [160, 0]}],
                }
            ],
        }
    ).cameras[0]


def _report() -> ReplayReport:
    """A person (#7) walks down through the line over frames 1-40; counted in at frame 20 and
    out at frame 35 (the second is made up: it has no true crossing)."""
    tracked = {}
    for frame in range(1, FRAMES + 1):
        y = 40 + 4 * frame
        boxes = np.array([[140.0, y - 60, 180, y]])
        tracked[frame] = TrackedFrame(boxes, np.array([7]), np.array([[160.0, y]]))
    return ReplayReport(
        frames=FRAMES,
        lines={"door": {"in": 1, "out": 1}},
        per_frame=[FrameRecord(frame, 1, 1, {}) for frame in range(1, FRAMES + 1)],
        crossings=[CrossingEvent(20, "door", E, 7), CrossingEvent(35, "door", X, 7)],
        source_frames_per_second=10.0,
        tracked=tracked,
    )


def test_html_report_is_self_contained_with_a_strip_per_crossing(
    camera: CameraConfig, tmp_path: Path
) -> None:
    report = _report()
    # the tally: in at 1.8 s (frame 19, counted at 20: matched), out at 0.5 s (missed)
    tally = [TallyCrossing(1.8, "door", E), TallyCrossing(0.5, "door", X)]
    outcome = audit_events(report, tally_events(tally, 10.0), camera)
    assert [(m.outcome, m.true_frame, m.counted_frame) for m in outcome.crossings] == [
        ("missed", 6, None),
        ("matched", 19, 20),
        ("extra", None, 35),
    ]
    path = tmp_path / "audit.html"
    write_audit_html(path, camera, report, outcome, "Audit of clip against tally.csv", 2.0)
    page = path.read_text()
    assert not re.search(r"https?:", page, re.IGNORECASE)
    assert not re.search(r"""(src|href)=["'](?!data:)""", page)  # nothing loaded from outside
    assert "<style>" in page
    assert "<link" not in page
    assert "<script" not in page
    sections = re.findall(r'<section class="strip (\w+)" id="crossing-\d+">(.*?)</section>', page)
    assert [outcome for outcome, _ in sections] == ["missed", "matched", "extra"]
    expected_frames = [[1, 6, 11, 16], [9, 14, 19, 20, 30], [25, 30, 35, 40]]
    for (_, section), frames in zip(sections, expected_frames, strict=True):
        assert re.findall(r'alt="frame (\d+)"', section) == [str(frame) for frame in frames]
        pictures = re.findall(r'src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"', section)
        assert len(pictures) == len(frames)
        for picture in pictures:
            image = cv2.imdecode(np.frombuffer(base64.b64decode(picture), np.uint8), 1)
            assert image.shape == (THUMBNAIL_WIDTH_PX * HEIGHT // WIDTH, THUMBNAIL_WIDTH_PX, 3)
    assert "person #7 (magenta)" in sections[1][1]
    assert "true frame 6" in sections[0][1]
    assert "counted frame" not in sections[0][1]
    # the summary: door in 1 true / 1 counted, out 1 true / 1 counted
    assert re.search(r"<td>door</td><td>in</td><td[^>]*>1</td><td[^>]*>1</td>", page)
    assert "1 matched, 1 missed, 1 extra" in page


def test_thumbnail_shows_the_line_and_the_counted_person(
    camera: CameraConfig, tmp_path: Path
) -> None:
    report = _report()
    outcome = audit_events(report, [], camera)  # no truth: both counted crossings are extra
    path = tmp_path / "audit.html"
    write_audit_html(path, camera, report, outcome, "t", 2.0)
    first = re.search(r'src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"', path.read_text())
    assert first is not None
    image = cv2.imdecode(np.frombuffer(base64.b64decode(first.group(1)), np.uint8), 1)
    scale = THUMBNAIL_WIDTH_PX / WIDTH
    # the line y=120 in the line colour (BGR 0,200,255), away from the person and the arrow
    row = image[round(120 * scale), 10:60].astype(int)
    assert np.mean(np.abs(row - np.array([0, 200, 255])).sum(axis=1) < 120) > 0.8
    # frame 10 (first of the strip around frame 20): person #7 outlined in magenta at x=140
    column = image[round(30 * scale) : round(75 * scale), round(140 * scale)].astype(int)
    assert np.mean(np.abs(column - np.array([255, 0, 255])).sum(axis=1) < 150) > 0.6


def test_missing_frames_are_an_error(camera: CameraConfig, tmp_path: Path) -> None:
    report = _report()
    report.tracked[FRAMES + 5] = report.tracked[FRAMES]  # a frame the source does not have
    outcome = audit_events(report, [CrossingEvent(FRAMES + 5, "door", E)], camera)
    with pytest.raises(Exception, match=r"ended before frame 45"):
        write_audit_html(tmp_path / "audit.html", camera, report, outcome, "t", 2.0)

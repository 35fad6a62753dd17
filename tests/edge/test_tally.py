"""Tally files (a person's crossings with their time) as audit truth: reading, errors that name
the file and line, and matching against counted crossings within the time tolerance."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.audit import TruthError, audit_events
from edge.config import parse_config
from edge.counting.counters import Direction
from edge.replay import CrossingEvent, FrameRecord, ReplayReport
from edge.tally import TallyCrossing, is_tally, load_tally, tally_events

E, X = Direction.ENTRY, Direction.EXIT
LINES = ("door", "side")


def test_load_tally_with_and_without_header(tmp_path: Path) -> None:
    with_header = tmp_path / "tally.csv"
    with_header.write_text("time_seconds,line,direction\n1.5,door,in\n\n12,side,OUT\n")
    without = tmp_path / "bare.csv"
    without.write_text(" 1.5 , door , in\n12,side,out\n")
    expected = [TallyCrossing(1.5, "door", E), TallyCrossing(12.0, "side", X)]
    assert load_tally(with_header, LINES) == expected
    assert load_tally(without, LINES) == expected


def test_format_detected_by_extension_or_header(tmp_path: Path) -> None:
    tally_txt = tmp_path / "tally.txt"
    tally_txt.write_text("time_seconds, line, direction\n1,door,in\n")
    mot = tmp_path / "gt.txt"
    mot.write_text("1,1,10,10,5,5,1,1,1\n")
    assert is_tally(tally_txt)
    assert is_tally(tmp_path / "anything.CSV")
    assert not is_tally(mot)
    assert not is_tally(tmp_path / "missing.txt")  # read as MOT, which names the missing file


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("abc,door,in", r"tally.csv:3: time_seconds 'abc' is not a number"),
        ("-1,door,in", r"tally.csv:3: time_seconds '-1' must be 0 or more"),
        ("nan,door,in", r"tally.csv:3: time_seconds 'nan' must be 0 or more"),
        ("4,back,in", r"tally.csv:3: unknown line 'back' \(the camera's lines: door, side\)"),
        ("4,door,up", r"tally.csv:3: direction 'up' must be in or out"),
        ("4,door", r"tally.csv:3: expected time_seconds,line,direction, got '4,door'"),
        ("4,door,in,x", r"tally.csv:3: expected time_seconds,line,direction"),
    ],
)
def test_bad_row_names_file_and_line(tmp_path: Path, row: str, message: str) -> None:
    path = tmp_path / "tally.csv"
    path.write_text(f"time_seconds,line,direction\n1,door,in\n{row}\n")
    with pytest.raises(TruthError, match=message):
        load_tally(path, LINES)


def test_unreadable_tally_names_file(tmp_path: Path) -> None:
    with pytest.raises(TruthError, match=r"cannot read tally .*missing.csv"):
        load_tally(tmp_path / "missing.csv", LINES)


@pytest.mark.parametrize(
    ("time_seconds", "frames_per_second", "frame"),
    [(0.0, 7.0, 1), (1.0, 7.0, 8), (2.3, 7.0, 17), (0.04, 25.0, 2), (59.99, 10.0, 601)],
)
def test_tally_time_to_frame(time_seconds: float, frames_per_second: float, frame: int) -> None:
    (event,) = tally_events([TallyCrossing(time_seconds, "door", E)], frames_per_second)
    assert event == CrossingEvent(frame, "door", E)


def _report(counted: list[tuple[int, str, Direction]]) -> ReplayReport:
    """A replay of 200 frames at 10 fps that counted ``counted`` (frame, line, direction)."""
    lines = {line: {"in": 0, "out": 0} for line in LINES}
    for _, line, direction in counted:
        lines[line]["in" if direction is E else "out"] += 1
    return ReplayReport(
        frames=200,
        lines=lines,
        per_frame=[FrameRecord(frame, 1, 1, {}) for frame in range(1, 201)],
        crossings=[CrossingEvent(*event) for event in counted],
        source_frames_per_second=10.0,
    )


CAMERA = parse_config(
    {
        "store_id": "s",
        "cameras": [
            {
                "id": "c",
                "source": {"uri": "x"},
                "lines": [
                    {"id": line, "points": [[0, 100], [200, 100]], "inside": [100, 0]}
                    for line in LINES
                ],
            }
        ],
    }
).cameras[0]
# a person's tally: 1.0 s door in, 5.0 s door out, 9.0 s door in, 15.0 s side out
TALLY = "1.0,door,in\n5.0,door,out\n9.0,door,in\n15.0,side,out\n"
# counted: door in at 1.2 s, door out at 7.9 s (2.9 s late), door in at 9.1 s, side in at 15 s
COUNTED = [(13, "door", E), (80, "door", X), (92, "door", E), (151, "side", E)]


@pytest.mark.parametrize(
    ("tolerance_seconds", "expected"),
    [
        (
            2.0,
            [
                ("matched", "door", E, 11, 13),
                ("missed", "door", X, 51, None),
                ("extra", "door", X, None, 80),
                ("matched", "door", E, 91, 92),
                ("extra", "side", E, None, 151),
                ("missed", "side", X, 151, None),
            ],
        ),
        (
            3.0,
            [
                ("matched", "door", E, 11, 13),
                ("matched", "door", X, 51, 80),
                ("matched", "door", E, 91, 92),
                ("extra", "side", E, None, 151),
                ("missed", "side", X, 151, None),
            ],
        ),
        (
            0.1,
            [
                ("missed", "door", E, 11, None),
                ("extra", "door", E, None, 13),
                ("missed", "door", X, 51, None),
                ("extra", "door", X, None, 80),
                ("matched", "door", E, 91, 92),
                ("extra", "side", E, None, 151),
                ("missed", "side", X, 151, None),
            ],
        ),
    ],
)
def test_tally_audit_within_tolerance(
    tmp_path: Path,
    tolerance_seconds: float,
    expected: list[tuple[str, str, Direction, int | None, int | None]],
) -> None:
    path = tmp_path / "tally.csv"
    path.write_text(TALLY)
    report = _report(COUNTED)
    truth = tally_events(load_tally(path, LINES), report.source_frames_per_second)
    outcome = audit_events(report, truth, CAMERA, tolerance_seconds)
    assert [
        (m.outcome, m.line_id, m.direction, m.true_frame, m.counted_frame)
        for m in outcome.crossings
    ] == expected
    door, side = outcome.lines
    assert (door.true_entries, door.counted_entries, door.true_exits, door.counted_exits) == (
        2,
        2,
        1,
        1,
    )
    assert (side.true_entries, side.counted_entries, side.true_exits, side.counted_exits) == (
        0,
        1,
        1,
        0,
    )
    assert outcome.frames == 200
    assert outcome.people_mae is None  # a tally has no people per frame


def test_negative_tolerance_rejected() -> None:
    with pytest.raises(ValueError, match="tolerance_seconds must be 0 or more"):
        audit_events(_report([]), [], CAMERA, -1.0)

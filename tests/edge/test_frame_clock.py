"""FrameClockGuard: frames behind the last saved interval end, or behind the previous
frame, pass uncounted with one warning per episode; counting resumes once the clock is past."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from edge.frame_clock import FrameClockGuard

SAVED_END = datetime(2026, 1, 5, 9, 1, tzinfo=UTC)
T = SAVED_END.timestamp()


def test_restarted_recording_is_skipped_until_the_saved_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    guard = FrameClockGuard("door", SAVED_END)
    with caplog.at_level(logging.WARNING):
        admitted = [guard.admit(T + offset) for offset in (-60.0, -30.0, -0.1, 0.0, 0.1)]
    assert admitted == [False, False, False, True, True]
    assert guard.frames_skipped == 3
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert "is 60.0 s behind the end of its last saved interval" in messages[0]
    assert "counting resumed after 3 frames (60.0 s of frame time)" in messages[1]


@pytest.mark.parametrize(
    ("times", "admitted"),
    [
        ((0.0, 1.0, 2.0), [True, True, True]),
        ((0.0, 2.0, 1.0, 2.0, 3.0), [True, True, False, True, True]),
        ((5.0, 5.0), [True, True]),
    ],
)
def test_a_clock_stepping_back_within_a_run(times: tuple[float, ...], admitted: list[bool]) -> None:
    guard = FrameClockGuard("door", None)
    assert [guard.admit(T + seconds) for seconds in times] == admitted

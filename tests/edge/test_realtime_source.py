"""``source.realtime``: a recording handed over no faster than its frame rate, as a camera
would (the entrance-display test replays the PETS clip this way)."""

from __future__ import annotations

import time
from pathlib import Path

from edge.config import SourceConfig
from edge.vision.sources import RecordedSource
from tests.edge.test_sources import write_video


def seconds_to_read(source: RecordedSource) -> tuple[float, list[float]]:
    started = time.monotonic()
    timestamps = [frame.timestamp_seconds for frame in source]
    source.close()
    return time.monotonic() - started, timestamps


def test_realtime_paces_a_recording_at_its_frame_rate(tmp_path: Path) -> None:
    video = tmp_path / "clip.avi"
    write_video(video, 16, fps=20.0)  # 0.75 s from the first frame to the last
    start = "2026-01-05T09:00:00+00:00"
    fast, fast_times = seconds_to_read(
        RecordedSource(SourceConfig(uri=str(video), start_time_utc=start))
    )
    paced, paced_times = seconds_to_read(
        RecordedSource(SourceConfig(uri=str(video), start_time_utc=start, realtime=True))
    )
    assert paced_times == fast_times  # same frame times: only the pace differs
    assert paced >= 0.7, paced
    assert fast < paced - 0.3, (fast, paced)


def test_realtime_drops_the_frames_a_slow_worker_had_no_time_for(tmp_path: Path) -> None:
    video = tmp_path / "clip.avi"
    write_video(video, 30, fps=20.0)  # 1.5 s
    source = RecordedSource(SourceConfig(uri=str(video), realtime=True))
    indexes = []
    for frame in source:
        indexes.append(frame.index)
        if frame.index == 2:
            time.sleep(0.5)  # a slow detector: the camera does not wait for it
    assert indexes[:3] == [0, 1, 2]
    assert indexes[3] >= 10, indexes  # the frames of the 0.5 s went by
    assert indexes[-1] == 29
    assert source.frames_dropped == 30 - len(indexes)
    assert source.frames_dropped >= 7


def test_realtime_frame_times_are_when_the_frames_are_handed_over(tmp_path: Path) -> None:
    video = tmp_path / "clip.avi"
    write_video(video, 6, fps=20.0)
    source = RecordedSource(SourceConfig(uri=str(video), realtime=True))
    time.sleep(0.5)  # the worker loads its model before it reads the first frame
    for frame in source:
        assert abs(frame.timestamp_seconds - time.time()) < 0.1

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

"""Wire messages as tests build them: every field defaulted to a plausible value, so a test
names only the store, camera and times it is about and overrides the rest by keyword."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from protocol.messages import CameraHealth, LiveCrossing


def camera_health(
    store_id: str, camera_id: str, time_utc: datetime, **changes: Any
) -> CameraHealth:
    """A camera streaming at 9.5 fps that last published 42 s before ``time_utc``."""
    report = CameraHealth(
        store_id=store_id,
        camera_id=camera_id,
        time_utc=time_utc,
        source_state="streaming",
        frames_per_second=9.5,
        frames_processed=5700,
        frames_dropped=3,
        detector_milliseconds=61.25,
        detector_duty_cycle=0.25,
        outbox_depth=4,
        outbox_bytes=2048,
        last_publish_utc=time_utc - timedelta(seconds=42),
        software_version="test",
    )
    return report.model_copy(update=changes)


def live_crossing(
    store_id: str,
    camera_id: str,
    line_id: str,
    interval_start_utc: datetime,
    *,
    seconds_in: float = 1.0,
    sequence: int = 0,
    direction: Literal["entry", "exit"] = "entry",
) -> LiveCrossing:
    """One crossing ``seconds_in`` into its one-minute interval."""
    return LiveCrossing(
        store_id=store_id,
        camera_id=camera_id,
        line_id=line_id,
        direction=direction,
        time_utc=interval_start_utc + timedelta(seconds=seconds_in),
        interval_start_utc=interval_start_utc,
        interval_end_utc=interval_start_utc + timedelta(minutes=1),
        sequence=sequence,
    )

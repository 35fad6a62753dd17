"""Whether a store's occupancy is being counted right now, from its entrance cameras.

A number on the door display is only as good as the cameras behind it. Each entrance
camera is ``counting`` while its edge device is online, has reported within the silence
threshold and its video is streaming; otherwise it is ``offline`` (retained status, the
Last Will of a dead device), ``silent`` (no health or status for ``silence_seconds``),
``no_video`` (its stream is reconnecting, failed or ended) or ``unknown`` (never reported).
A store is ``live`` when all of its entrance cameras count and the API hears the broker;
else ``paused``, with one reason per problem.

Which cameras are entrances: the registry's cameras of the store with entrance lines (a
camera listed without ``entrance_lines`` has all lines as entrances); for a store without a
camera list, every camera seen on the broker.

Pure: the caller passes the cameras' latest state and the time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from aggregator.api.models import CountingState, EntranceCamera
from aggregator.config import StoreConfig
from protocol.messages import CameraHealth, CameraStatus

STREAMING_STATES = ("starting", "streaming")


@dataclass(frozen=True)
class CameraReport:
    """What the API last heard from one camera, and when (its own clock, UTC)."""

    camera_id: str
    status: CameraStatus | None
    health: CameraHealth | None
    last_report_utc: datetime | None


def entrance_camera_ids(store: StoreConfig | None, seen_camera_ids: Sequence[str]) -> list[str]:
    """The store's entrance cameras: from the registry, else every camera seen."""
    if store is not None and store.cameras:
        return [
            camera.id
            for camera in store.cameras
            if camera.entrance_lines is None or camera.entrance_lines
        ]
    return sorted(seen_camera_ids)


def camera_state(
    camera_id: str, report: CameraReport | None, now_utc: datetime, silence_seconds: float
) -> EntranceCamera:
    """One entrance camera's state and, unless it is counting, why not."""
    last = report.last_report_utc if report is not None else None
    if report is None or last is None:
        return EntranceCamera(
            camera_id=camera_id,
            state="unknown",
            last_report_utc=None,
            reason=f"entrance camera {camera_id!r} has never reported",
        )
    quiet_seconds = (now_utc - last).total_seconds()
    if report.status is not None and report.status.state == "offline":
        state, reason = "offline", f"entrance camera {camera_id!r} is offline"
    elif quiet_seconds > silence_seconds:
        state = "silent"
        reason = (
            f"no report from entrance camera {camera_id!r} for {quiet_seconds:.0f} s "
            f"(limit {silence_seconds:g} s)"
        )
    elif report.health is not None and report.health.source_state not in STREAMING_STATES:
        state = "no_video"
        reason = f"entrance camera {camera_id!r} video is {report.health.source_state}"
    else:
        state, reason = "counting", None
    return EntranceCamera(camera_id=camera_id, state=state, last_report_utc=last, reason=reason)


def counting_state(
    store: StoreConfig | None,
    reports: Sequence[CameraReport],
    now_utc: datetime,
    silence_seconds: float,
    broker_connected: bool = True,
) -> CountingState:
    """``live`` or ``paused`` (with the reasons) for one store."""
    by_id = {report.camera_id: report for report in reports}
    cameras = [
        camera_state(camera_id, by_id.get(camera_id), now_utc, silence_seconds)
        for camera_id in entrance_camera_ids(store, list(by_id))
    ]
    reasons = [camera.reason for camera in cameras if camera.reason is not None]
    if not cameras:
        reasons.append("no entrance camera has reported")
    if not broker_connected:
        reasons.insert(0, "the API has lost its connection to the broker")
    return CountingState(
        state="paused" if reasons else "live",
        reasons=reasons,
        silence_threshold_seconds=silence_seconds,
        cameras=cameras,
    )

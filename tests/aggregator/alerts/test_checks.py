"""One round of checks over what the monitor heard: entrance cameras from the registry,
the API's silence threshold, and no camera judged while the broker is lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aggregator.alert_settings import AlertSettings
from aggregator.alerts.checks import AlertChecks
from aggregator.api.counting_state import CameraReport
from aggregator.config import AggregatorConfig
from protocol.messages import CameraStatus

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def checks() -> AlertChecks:
    config = AggregatorConfig.model_validate(
        {
            "api": {"camera_silence_seconds": 60},
            "stores": [
                {
                    "id": "shop-1",
                    "cameras": [
                        {"id": "door"},
                        {"id": "till", "entrance_lines": []},  # not an entrance
                    ],
                }
            ],
        }
    )
    settings = AlertSettings.model_validate({"visits_low": {"enabled": False}})
    return AlertChecks(config, settings, influx=None)


def report(camera: str, seconds_ago: float) -> CameraReport:
    status = CameraStatus(state="online", store_id="shop-1", camera_id=camera)
    return CameraReport(camera, status, None, NOW - timedelta(seconds=seconds_ago))


def test_silence_threshold_and_entrance_cameras() -> None:
    alerts = checks()
    assert alerts.silence_seconds == 60  # the API's
    quiet = {"shop-1": [report("door", 60), report("till", 600)]}
    assert alerts.evaluate([], quiet, NOW) == []  # 60 s is not past the threshold
    later = {"shop-1": [report("door", 61), report("till", 600)]}
    events = alerts.evaluate([], later, NOW)
    assert [(e.kind, e.camera_id, e.values["state"]) for e in events] == [
        ("camera_offline", "door", "silent")
    ]


def test_no_camera_is_judged_without_the_broker() -> None:
    alerts = checks()
    stale = {"shop-1": [report("door", 300)]}
    assert alerts.evaluate([], stale, NOW, broker_connected=False) == []
    assert len(alerts.evaluate([], stale, NOW, broker_connected=True)) == 1

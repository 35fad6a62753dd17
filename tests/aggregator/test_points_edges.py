"""Points the aggregator writes besides intervals, found by ``make mutation`` (issue 17): every
health, status, occupancy, policy and transaction point was reached only through the API and
dashboard tests, so a dropped field or tag there shipped green. Each is pinned here as the
exact line protocol InfluxDB receives, with the choices each makes: a health report at the
earlier of its own and the receive time, ``seconds_since_publish`` -1 before any publish,
the duty cycle and capacity only when known, a ratio metric's tag only for ratio metrics."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from aggregator.storage.encoding import PointEncoder
from aggregator.storage.line_protocol import Point
from aggregator.storage.points import (
    health_point,
    occupancy_point,
    policy_change_point,
    policy_effect_point,
    status_point,
    transaction_point,
)
from protocol.messages import CameraHealth, CameraStatus
from tests.message_builders import camera_health

TIME = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
NANOSECONDS = int(TIME.timestamp()) * 10**9
SECOND = 10**9


def encode(point: Point) -> str:
    return PointEncoder().encode(point)


def health(**changes: object) -> CameraHealth:
    return camera_health("s1", "door", TIME, source_state="reconnecting", **changes)


HEALTH_FIELDS = (
    "frames_per_second=9.5,frames_processed=5700i,frames_dropped=3i,detector_milliseconds=61.25,"
    "outbox_depth=4i,outbox_bytes=2048i"
)


def test_a_health_report_is_stored_whole_at_its_own_time() -> None:
    line = encode(health_point(health(), TIME + timedelta(seconds=5)))
    assert line == (
        f"edge_health,camera=door,store=s1 {HEALTH_FIELDS},seconds_since_publish=42.0,"
        f'source_state="reconnecting",detector_duty_cycle=0.25 {NANOSECONDS}'
    )


def test_a_health_report_from_a_clock_ahead_before_any_publish() -> None:
    """The edge clock runs 5 s ahead: stored at the receive time; never published: -1; an
    edge too old to report its duty cycle: no duty-cycle field rather than a made-up one."""
    report = health(last_publish_utc=None, detector_duty_cycle=None)
    line = encode(health_point(report, TIME - timedelta(seconds=5)))
    assert line == (
        f"edge_health,camera=door,store=s1 {HEALTH_FIELDS},seconds_since_publish=-1.0,"
        f'source_state="reconnecting" {NANOSECONDS - 5 * SECOND}'
    )


@pytest.mark.parametrize(("state", "online"), [("online", "true"), ("offline", "false")])
def test_a_status_is_stored_at_its_receive_time(state: str, online: str) -> None:
    status = CameraStatus.model_validate({"state": state, "store_id": "s1", "camera_id": "door"})
    line = encode(status_point(status, TIME))
    assert line == f'edge_status,camera=door,store=s1 online={online},state="{state}" {NANOSECONDS}'


@pytest.mark.parametrize(
    ("capacity", "over", "capacity_field"), [(None, False, ""), (6, True, ",capacity=6i")]
)
def test_occupancy_is_stored_with_its_day_totals(
    capacity: int | None, over: bool, capacity_field: str
) -> None:
    point = occupancy_point(
        "s1",
        TIME,
        occupancy=7,
        entries_today=30,
        exits_today=23,
        over_capacity=over,
        drift=-2,
        reset_residual=1,
        capacity=capacity,
    )
    assert encode(point) == (
        "store_occupancy,store=s1 occupancy=7i,entries_today=30i,exits_today=23i,"
        f"over_capacity={str(over).lower()},drift=-2i,reset_residual=1i{capacity_field}"
        f" {NANOSECONDS}"
    )


def test_a_ratio_effect_is_tagged_with_its_metric_and_visits_gained() -> None:
    point = policy_effect_point(
        "late-opening",
        "s1",
        "its",
        effect_pct=-12.5,
        ci_low_pct=-20.0,
        ci_high_pct=-5.0,
        change_utc=TIME,
        visits_gained=(-100.0, -160.0, -40.0),
        metric="conversion",
    )
    assert encode(point) == (
        "policy_effects,method=its,metric=conversion,policy=late-opening,store=s1 "
        "effect_pct=-12.5,ci_low_pct=-20.0,ci_high_pct=-5.0,visits_gained=-100.0,"
        f"visits_gained_low=-160.0,visits_gained_high=-40.0 {NANOSECONDS}"
    )


def test_a_visits_effect_has_no_metric_tag() -> None:
    point = policy_effect_point(
        "late-opening",
        "pooled",
        "did",
        effect_pct=3.0,
        ci_low_pct=-1.0,
        ci_high_pct=7.0,
        change_utc=TIME,
    )
    assert encode(point) == (
        "policy_effects,method=did,policy=late-opening,store=pooled "
        f"effect_pct=3.0,ci_low_pct=-1.0,ci_high_pct=7.0 {NANOSECONDS}"
    )


def test_a_policy_change_is_stored_at_its_local_midnight() -> None:
    point = policy_change_point(
        "late-opening",
        "s1",
        effective_date=date(2024, 5, 1),
        timezone="Europe/London",
        description="open at 10",
        removed=True,
        effective_utc=TIME - timedelta(hours=1),
    )
    assert encode(point) == (
        'policy_changes,policy=late-opening,store=s1 description="open at 10",'
        'effective_date="2024-05-01",timezone="Europe/London",removed=true'
        f" {NANOSECONDS - 3600 * SECOND}"
    )


def test_transactions_are_stored_at_their_hour() -> None:
    line = encode(transaction_point("s1", TIME, 17))
    assert line == f"store_transactions,store=s1 transactions=17i {NANOSECONDS}"

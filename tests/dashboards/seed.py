"""Known synthetic data for the dashboard tests, written through the aggregator's own point
conversion (``interval_points``, ``health_point``) so the schema is the real one, plus the
expected numbers computed here in Python (zoneinfo for store-local days), independently of
InfluxDB's ``tz()`` grouping.

Six weeks (Monday 2024-01-01 to Sunday 2024-02-11, no daylight-saving change in New York) of
counts for two stores, a policy change at "north" from 2024-01-22 (open until 21:00 instead of
18:00, so evening hours fall on the next UTC day, and 2 more entries per interval per entrance
line), live occupancy for four stores on the last day and an hour of edge health for three
cameras. Reusable by other tests: ``seed(client)``, then the ``expected_*`` functions.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aggregator.analysis.policies import PolicyEntry
from aggregator.storage.influx import InfluxClient, Series
from aggregator.storage.line_protocol import Point
from aggregator.storage.measurements import EDGE_STATUS, STORE_OCCUPANCY
from aggregator.storage.points import health_point, interval_points, policy_effect_point
from protocol.messages import CameraHealth, CountInterval, LineCount
from tests.dashboards.macros import TimeRange

TIMEZONE = "America/New_York"
ZONE = ZoneInfo(TIMEZONE)
FIRST_DAY = date(2024, 1, 1)
DAYS = 42
OPENING_HOURS = range(9, 18)
EVENING_OPENING_HOURS = range(9, 21)
INTERVAL_MINUTES = (0, 15, 30, 45)
INTERVAL_SECONDS = 60
POLICY_DAY = date(2024, 1, 22)
POLICY_BONUS = 2
STAFF_DOOR_ENTRIES = 5

# store -> camera -> {line: entrance?}
CAMERAS: dict[str, dict[str, dict[str, bool]]] = {
    "north": {
        "door-cam": {"main-door": True},
        "side-cam": {"side-door": True, "staff-door": False},
    },
    "south": {"front-cam": {"front": True}},
}
LINE_BONUS = {"main-door": 3, "side-door": 0, "front": 1}


def opening_hours(store: str, day: date) -> range:
    """Store-local hours with counts: north opens until 21:00 from the policy day."""
    return EVENING_OPENING_HOURS if store == "north" and day >= POLICY_DAY else OPENING_HOURS


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZONE)


def entries(store: str, line: str, day: date, hour: int, minute: int) -> int:
    """Entries through one line in the 60 s interval starting at local ``hour:minute``."""
    if line == "staff-door":
        return STAFF_DOOR_ENTRIES
    count = day.isoweekday() + (hour - 9) % 4 + LINE_BONUS[line] + minute // 15
    if store == "north" and day >= POLICY_DAY:
        count += POLICY_BONUS
    return count


def _messages() -> list[tuple[CountInterval, set[str]]]:
    messages = []
    sequence = 0
    for offset in range(DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        for hour in EVENING_OPENING_HOURS:
            for minute in INTERVAL_MINUTES:
                start = datetime.combine(day, time(hour, minute), tzinfo=ZONE).astimezone(UTC)
                sequence += 1
                for store, cameras in CAMERAS.items():
                    if hour not in opening_hours(store, day):
                        continue
                    for camera, lines in cameras.items():
                        counts = {
                            line: LineCount(
                                entries=entries(store, line, day, hour, minute),
                                exits=max(entries(store, line, day, hour, minute) - 1, 0),
                            )
                            for line in lines
                        }
                        message = CountInterval(
                            store_id=store,
                            camera_id=camera,
                            sequence=sequence,
                            interval_start_utc=start,
                            interval_end_utc=start + timedelta(seconds=INTERVAL_SECONDS),
                            frames=600,
                            lines=counts,
                            software_version="test",
                            config_fingerprint="0123abcd",
                        )
                        entrances = {line for line, entrance in lines.items() if entrance}
                        messages.append((message, entrances))
    return messages


def _policy_change(
    policy: str, store: str, description: str, effective_date: date, removed: bool = False
) -> PolicyEntry:
    return PolicyEntry(
        policy=policy,
        store=store,
        effective_date=effective_date,
        timezone=TIMEZONE,
        description=description,
        removed=removed,
    )


POLICY_CHANGES_SEEDED = (
    _policy_change("evening-opening", "north", "Open until 21:00", POLICY_DAY),
    _policy_change("queue-rule", "south", "One queue for all tills", date(2024, 2, 1)),
    _policy_change("music-off", "north", "No background music", date(2024, 2, 5), removed=True),
)
# (policy, store, method) -> (effect %, CI low %, CI high %)
POLICY_EFFECTS_SEEDED = {
    ("evening-opening", "north", "its"): (12.5, 8.0, 17.0),
    ("evening-opening", "north", "did"): (10.0, 4.0, 16.0),
    ("queue-rule", "south", "its"): (-3.0, -9.0, 3.0),
    ("evening-opening", "pooled", "did"): (11.0, 6.0, 16.0),
    ("queue-rule", "pooled", "its"): (-2.0, -7.0, 3.0),
}
# (policy, store, primary method) -> visits gained over the after window (estimate, CI low,
# CI high); as `footfall impact --store-effects` writes them, only on the primary method's point
POLICY_VISITS_GAINED_SEEDED = {
    ("evening-opening", "north", "its"): (812.4, 530.6, 1101.5),
    ("queue-rule", "south", "its"): (-310.6, -905.2, 290.4),
    ("evening-opening", "pooled", "did"): (1630.2, 880.7, 2391.9),
    ("queue-rule", "pooled", "its"): (-402.0, -1410.8, 603.3),
}
EFFECTS_TIME = datetime(2024, 2, 10, 12, tzinfo=UTC)

LAST_DAY = FIRST_DAY + timedelta(days=DAYS - 1)
# store -> [(local time on LAST_DAY, occupancy, capacity, entries today)]
OCCUPANCY_CHANGES: dict[str, list[tuple[time, int, int | None, int]]] = {
    "north": [(time(10), 10, 50, 12), (time(12, 30), 30, 50, 40), (time(15, 5), 45, 50, 80)],
    "south": [(time(11), 20, 40, 25), (time(14), 12, 40, 33)],
    "east": [(time(9, 30), 5, 25, 5), (time(13, 45), 30, 25, 44)],
    "west": [(time(10, 15), 7, None, 9)],
}


def _occupancy_points() -> list[Point]:
    points = []
    for store, changes in OCCUPANCY_CHANGES.items():
        for moment, occupancy, capacity, entries_today in changes:
            fields: dict[str, int | bool] = {
                "occupancy": occupancy,
                "entries_today": entries_today,
                "exits_today": entries_today - occupancy,
                "over_capacity": capacity is not None and occupancy > capacity,
                "drift": 0,
                "reset_residual": 0,
            }
            if capacity is not None:
                fields["capacity"] = capacity
            when = datetime.combine(LAST_DAY, moment, tzinfo=ZONE)
            points.append(Point(STORE_OCCUPANCY, {"store": store}, fields, when))
    return points


HEALTH_START = datetime.combine(LAST_DAY, time(12), tzinfo=UTC)
HEALTH_REPORTS = 120
"""Reports every 30 s for an hour."""
SIDE_CAM_LAST_REPORT = 80
"""side-cam stops reporting after report 80 (12:40:00 UTC) and goes offline at 12:41."""
FRONT_CAM_RESTART = 70
"""front-cam's worker restarts at report 70: its dropped-frames counter starts again at 0."""
HEALTH_CAMERAS = (("north", "door-cam"), ("north", "side-cam"), ("south", "front-cam"))


def health_report(store: str, camera: str, index: int) -> CameraHealth:
    """Report ``index`` (0..119) of one camera. Dropped frames: a counter growing by
    ``index % 3`` per report (front-cam: restarted at ``FRONT_CAM_RESTART``)."""
    moment = HEALTH_START + timedelta(seconds=30 * index)
    first = FRONT_CAM_RESTART if camera == "front-cam" and index >= FRONT_CAM_RESTART else 0
    dropped = sum(step % 3 for step in range(first, index + 1))
    camera_number = [name for _, name in HEALTH_CAMERAS].index(camera)
    return CameraHealth(
        store_id=store,
        camera_id=camera,
        time_utc=moment,
        source_state="streaming",
        frames_per_second=10.0 + camera_number + (index % 2) * 0.5,
        frames_processed=index * 300,
        frames_dropped=dropped,
        detector_milliseconds=40.0 + camera_number,
        detector_duty_cycle=None if camera == "side-cam" else (index % 4) / 4,
        outbox_depth=max(index - 60, 0) if camera == "front-cam" else 0,
        outbox_bytes=0,
        last_publish_utc=moment - timedelta(seconds=2),
        software_version="test",
    )


def _health_points() -> list[Point]:
    points = []
    for store, camera in HEALTH_CAMERAS:
        last = SIDE_CAM_LAST_REPORT if camera == "side-cam" else HEALTH_REPORTS - 1
        for index in range(last + 1):
            report = health_report(store, camera, index)
            points.append(health_point(report, report.time_utc))
    for store, camera in HEALTH_CAMERAS:
        tags = {"store": store, "camera": camera}
        points.append(Point(EDGE_STATUS, tags, {"online": True, "state": "online"}, HEALTH_START))
    offline = HEALTH_START + timedelta(minutes=41)
    tags = {"store": "north", "camera": "side-cam"}
    points.append(Point(EDGE_STATUS, tags, {"online": False, "state": "offline"}, offline))
    return points


def seed(client: InfluxClient) -> None:
    """Write all synthetic data to ``client``'s database."""
    points: list[Point] = []
    for message, entrances in _messages():
        points.extend(interval_points(message, entrances))
    points.extend(change.point() for change in POLICY_CHANGES_SEEDED)
    for key, (effect, low, high) in POLICY_EFFECTS_SEEDED.items():
        effect_point = policy_effect_point(
            *key,
            effect_pct=effect,
            ci_low_pct=low,
            ci_high_pct=high,
            change_utc=EFFECTS_TIME,
            visits_gained=POLICY_VISITS_GAINED_SEEDED.get(key),
        )
        points.append(effect_point)
    points.extend(_occupancy_points())
    points.extend(_health_points())
    for start in range(0, len(points), 5000):
        client.write(points[start : start + 5000])


def _entrance_lines(store: str) -> list[str]:
    return [
        line for lines in CAMERAS[store].values() for line, entrance in lines.items() if entrance
    ]


def expected_hourly(store: str, lines: list[str] | None = None) -> dict[datetime, int]:
    """Visits per local hour (keyed by the hour's local start), open hours of every day."""
    totals: dict[datetime, int] = defaultdict(int)
    for offset in range(DAYS):
        day = FIRST_DAY + timedelta(days=offset)
        for hour in opening_hours(store, day):
            key = datetime.combine(day, time(hour), tzinfo=ZONE)
            for line in lines or _entrance_lines(store):
                totals[key] += sum(entries(store, line, day, hour, m) for m in INTERVAL_MINUTES)
    return dict(totals)


def expected_daily(store: str) -> dict[date, int]:
    totals: dict[date, int] = defaultdict(int)
    for hour_start, count in expected_hourly(store).items():
        totals[hour_start.date()] += count
    return dict(totals)


def local_range(first: date, last: date) -> TimeRange:
    """Store-local days ``first`` 00:00 to ``last`` 23:59:59.999, like Grafana's day ranges."""
    start = datetime.combine(first, time(0), tzinfo=ZONE)
    end = datetime.combine(last, time(23, 59, 59, 999000), tzinfo=ZONE)
    return TimeRange(start, end)


def expected_total(store: str, first: date, last: date) -> int:
    """Visits from local day ``first`` to ``last``, both included."""
    return sum(count for day, count in expected_daily(store).items() if first <= day <= last)


def by_time(series: Series, column: int = 1) -> dict[datetime, Any]:
    """A result series as {time: value}; times keep InfluxDB's offset (``tz()`` results are
    local, e.g. ``2024-01-29T00:00:00-05:00``)."""
    return {datetime.fromisoformat(row[0]): row[column] for row in series.values}


def by_tag(series: list[Series], tag: str = "store") -> dict[str, Series]:
    """Result series keyed by one of their group tags."""
    keyed = {one.tags[tag]: one for one in series}
    if len(keyed) != len(series):
        raise ValueError(f"several series share a {tag!r} tag: {[one.tags for one in series]}")
    return keyed

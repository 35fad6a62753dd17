"""The Footfall dashboard's store metrics row against the seeded InfluxDB, through Grafana's
own transformations (``grafana_checker``, Grafana 13.2 and 11.6): capture rate, conversion,
visit time and dwell buckets per store-local day, with the numbers computed here from the
seed."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from aggregator.storage.influx import InfluxClient
from dashboards.panels import Json
from tests.dashboards import seed, seed_metrics
from tests.dashboards.grafana_checker import GRAFANA_DATA, shown_panels
from tests.dashboards.queries import run_dashboard
from tests.dashboards.test_footfall_dashboard import WEEK, WEEK_END, WEEK_START, panel_named

TITLES = (
    "Capture rate per day",
    "Conversion per day",
    "Visit time per day (Little's law)",
    "Dwell in zones per day",
)
DAYS = [WEEK_START + timedelta(days=offset) for offset in range(7)]


@pytest.fixture(scope="module")
def footfall() -> Json:
    from dashboards.build import build_dashboards

    return build_dashboards(seed.TIMEZONE)["footfall.json"]


def shown(client: InfluxClient, dashboard: Json, time_range=WEEK, grafana: str = "13.2"):  # type: ignore[no-untyped-def]
    results = run_dashboard(client, dashboard, time_range, {"store": ["north"]})
    panels = [panel_named(dashboard, title) for title in TITLES]
    return shown_panels(dashboard, results, panels, grafana=grafana)


@pytest.mark.parametrize("grafana", sorted(GRAFANA_DATA))
def test_capture_rate_and_conversion_per_day(
    seeded_influx: InfluxClient, footfall: Json, grafana: str
) -> None:
    frames = shown(seeded_influx, footfall, grafana=grafana)
    visits = seed.expected_daily("north")
    (capture,) = frames["Capture rate per day"]
    assert capture.field("Time").texts == [day.isoformat() for day in DAYS]
    expected = [100 * visits[day] / seed_metrics.passers_by(day) for day in DAYS]
    assert capture.field("capture rate").values == pytest.approx(expected)
    # Monday 29 Jan (after the policy: open 9-21, 12 hours): 720 visits / 1440 passers-by
    assert visits[WEEK_START] == 720
    assert capture.field("capture rate").values[0] == pytest.approx(50.0)
    assert capture.field("capture rate").texts == [
        "50%",
        "56.7%",
        "63.3%",
        "70%",
        "76.7%",
        "83.3%",
        "90%",
    ]
    (conversion,) = frames["Conversion per day"]
    expected = [100 * seed_metrics.transactions("north", day) / visits[day] for day in DAYS]
    assert conversion.field("conversion").values == pytest.approx(expected)
    assert conversion.field("conversion").values[0] == pytest.approx(100 * 120 / 720)
    assert conversion.field("conversion").texts[0] == "16.7%"


def test_visit_time_by_littles_law(seeded_influx: InfluxClient, footfall: Json) -> None:
    """Occupancy is seeded on the last day only: north 10 from 10:00, 30 from 12:30, 45 from
    15:05 to midnight, a mean of 30225 / 840 minutes; the day's visits give the entry rate."""
    last = seed.local_range(seed.LAST_DAY, seed.LAST_DAY)
    (visit_time,) = shown(seeded_influx, footfall, last)["Visit time per day (Little's law)"]
    assert visit_time.field("Time").texts == [seed.LAST_DAY.isoformat()]
    mean_occupancy = (10 * 150 + 30 * 155 + 45 * 535) / 840
    entries_per_minute = seed.expected_daily("north")[seed.LAST_DAY] / 1440
    (minutes,) = visit_time.field("visit minutes").values
    assert minutes == pytest.approx(mean_occupancy / entries_per_minute)


def test_dwell_buckets_per_day(seeded_influx: InfluxClient, footfall: Json) -> None:
    (dwell,) = shown(seeded_influx, footfall)["Dwell in zones per day"]
    assert dwell.field("Time").texts == [day.isoformat() for day in DAYS]
    intervals = [4 * len(seed.opening_hours("north", day)) for day in DAYS]
    assert dwell.field("< 30 s").values == intervals
    assert dwell.field("30 s - 2 min").values == [2 * count for count in intervals]
    assert dwell.field("2 - 10 min").values == intervals
    assert dwell.field("> 10 min").values == [0] * 7
    assert DAYS[-1] == WEEK_END
    assert isinstance(DAYS[0], date)

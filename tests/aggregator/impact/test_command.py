"""``footfall impact`` at the command line: the CSV path, the table, and errors that name the
bad thing."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from aggregator.analysis.impact.synthetic import synthetic_visits
from aggregator.storage.influx import InfluxClient
from footfall.cli import app

CHANGE = date(2025, 10, 6)


@pytest.fixture(scope="module")
def visits_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    hourly = synthetic_visits(
        ["a", "b", "c", "d"], first_day=date(2025, 8, 1), days=100, change_date=CHANGE,
        effects={"a": 0.25, "b": 0.25}, seed=3, timezone="Europe/Berlin",
    )  # fmt: skip
    path = tmp_path_factory.mktemp("csv") / "visits.csv"
    times = hourly["time_utc"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    pd.DataFrame({"time": times, "store": hourly["store"], "visits": hourly["visits"]}).to_csv(
        path, index=False
    )
    return path


def _adhoc(path: Path, *extra: str) -> list[str]:
    return [
        "impact", "--from-csv", str(path), "--stores", "a,b", "--effective", str(CHANGE),
        "--tz", "Europe/Berlin", *extra,
    ]  # fmt: skip


def test_csv_ad_hoc_json(visits_csv: Path) -> None:
    result = CliRunner().invoke(app, [*_adhoc(visits_csv, "--controls", "c,d"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["policy"] == "ad hoc"
    assert report["comparison"]["stores"] == ["c", "d"]
    assert [store["store"] for store in report["stores"]] == ["a", "b"]
    for unit in [report["pooled"], *report["stores"]]:
        assert {"effect_pct", "ci_low_pct", "ci_high_pct", "method"} <= unit.keys()
        assert unit["ci_low_pct"] < 25.0 < unit["ci_high_pct"]
    for unit in [report["pooled"], *report["stores"]]:
        # +25% on the after window's visits: a fifth of them were gained
        cumulative = unit["cumulative"]
        assert cumulative["days"] == 28
        assert cumulative["ci_low"] < cumulative["after_visits"] * 0.2 < cumulative["ci_high"]
    assert report["placebo_date"] == "2025-09-08"
    # the placebo (a fake change four weeks earlier) is small next to the real +25%
    assert abs(report["pooled"]["placebo"]["effect_pct"]) < 10.0


def test_csv_ad_hoc_table(visits_csv: Path, tmp_path: Path) -> None:
    page = tmp_path / "impact.html"
    result = CliRunner(env={"COLUMNS": "250"}).invoke(
        app, [*_adhoc(visits_csv), "--report", str(page)]
    )
    assert result.exit_code == 0, result.output
    html = page.read_text(encoding="utf-8")
    # self-contained: the plot is inside, nothing is fetched, nothing runs
    assert html.startswith("<!DOCTYPE html>")
    assert 'src="data:image/png;base64,' in html
    assert "<script" not in html
    assert "http://" not in html
    assert "https://" not in html
    assert "changed by <b>+" in html
    assert "Difference-in-differences" in html
    assert "comparison: control stores c, d; placebo 2025-09-08" in result.output
    pooled = next(line for line in result.output.splitlines() if "pooled" in line)
    assert "DiD" in pooled
    assert "visits gained [95% CI]" in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["impact", "--from-csv", "x.csv"],
            "give --policy NAME, or --store S1 [--store S2] with --effective",
        ),
        (["--before", "3d"], "--before '3d' is shorter than 7 days"),
        (["--controls", "a,c"], "stores a are both treated and controls"),
        (["--placebo-date", "2025-11-01"], "placebo_date 2025-11-01 must be before the change"),
        (["--baseline-year", "2026"], "baseline_year 2026 must be before 2025"),
    ],
)
def test_errors_name_the_bad_option(visits_csv: Path, arguments: list[str], message: str) -> None:
    full = arguments if arguments[0] == "impact" else _adhoc(visits_csv, *arguments)
    result = CliRunner().invoke(app, full)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_store_without_data(visits_csv: Path) -> None:
    arguments = [
        "impact", "--from-csv", str(visits_csv), "--stores", "zz", "--effective", str(CHANGE),
    ]  # fmt: skip
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 2
    assert "no treated store has visits" in result.output


def test_unknown_policy_lists_the_known_ones(influx: InfluxClient) -> None:
    connection = ["--influx-url", influx.settings.url, "--database", influx.settings.database]
    add = ["policy", "add", "--name", "greeter", "--stores", "a", "--effective", "2025-10-06"]
    assert CliRunner().invoke(app, [*add, *connection]).exit_code == 0
    result = CliRunner().invoke(app, ["impact", "--policy", "grreter", *connection])
    assert result.exit_code == 2
    assert "no policy named 'grreter' (known: greeter)" in result.output


def test_unreachable_influxdb_is_named() -> None:
    result = CliRunner().invoke(
        app, ["impact", "--policy", "x", "--influx-url", "http://127.0.0.1:9"]
    )
    assert result.exit_code == 2
    assert "InfluxDB at http://127.0.0.1:9 is not reachable" in result.output

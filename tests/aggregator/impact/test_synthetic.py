"""Synthetic stores with weekday x hour seasonality, day-level noise and a known injected
effect: the estimates must recover it, and their 95% intervals must cover it."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from aggregator.analysis.impact.analysis import run_impact
from aggregator.analysis.impact.estimators import (
    DIFFERENCE_IN_DIFFERENCES,
    INTERRUPTED_TIME_SERIES,
    SEASONAL,
)
from aggregator.analysis.impact.results import UnitResult
from aggregator.analysis.impact.settings import ImpactSettings
from aggregator.analysis.impact.source import FrameVisitLoader
from aggregator.analysis.impact.synthetic import NoiseSettings, synthetic_visits
from aggregator.storage.influx import InfluxClient
from footfall.cli import app

CHANGE = date(2025, 3, 3)
FIRST_DAY = CHANGE - timedelta(days=60)
LONDON = "Europe/London"  # the window crosses the spring-forward day (2025-03-30)
PLUS = [f"plus-{number:02d}" for number in range(20)]
MINUS = [f"minus-{number:02d}" for number in range(20)]
UNTREATED = [f"other-{number:02d}" for number in range(20)]


def _write_csv(hourly: pd.DataFrame, path: Path) -> None:
    local = hourly["time_utc"].dt.tz_convert(LONDON)
    times = local.dt.strftime("%Y-%m-%dT%H:%M:%S%z").str.replace(
        r"(\d{2})(\d{2})$", r"\1:\2", regex=True
    )
    pd.DataFrame({"time": times, "store": hourly["store"], "visits": hourly["visits"]}).to_csv(
        path, index=False
    )


def _after_visits(hourly: pd.DataFrame, stores: list[str]) -> float:
    local_days = hourly["time_utc"].dt.tz_convert(LONDON).dt.tz_localize(None).dt.normalize()
    first, last = pd.Timestamp(CHANGE), pd.Timestamp(CHANGE + timedelta(days=27))
    inside = hourly["store"].isin(stores) & (local_days >= first) & (local_days <= last)
    return float(hourly.loc[inside, "visits"].sum())


def _run(arguments: list[str]) -> str:
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_injected_effects_are_recovered_through_influxdb(
    influx: InfluxClient, tmp_path: Path
) -> None:
    effects = {**dict.fromkeys(PLUS, 0.10), **dict.fromkeys(MINUS, -0.10)}
    hourly = synthetic_visits(
        [*PLUS, *MINUS, *UNTREATED],
        first_day=FIRST_DAY,
        days=90,
        change_date=CHANGE,
        effects=effects,
        seed=1,
        timezone=LONDON,
    )
    path = tmp_path / "visits.csv"
    _write_csv(hourly, path)
    connection = ["--influx-url", influx.settings.url, "--database", influx.settings.database]
    _run(["import", "csv", str(path), *connection])
    for name, stores in (("plus", PLUS), ("minus", MINUS)):
        _run(
            [
                *("policy", "add", "--name", name, "--stores", ",".join(stores)),
                *("--effective", str(CHANGE), "--tz", LONDON, *connection),
            ]
        )
    for name, truth in (("plus", 10.0), ("minus", -10.0)):
        plot = tmp_path / f"{name}.png"
        arguments = ["impact", "--policy", name, "--max-controls", "20", "--json"]
        report = json.loads(_run([*arguments, "--plot", str(plot), "--store-effects", *connection]))
        pooled = report["pooled"]
        print(
            f"FIGURE synthetic {truth:+.0f}%: {pooled['effect_pct']:+.2f}% "
            f"[{pooled['ci_low_pct']:+.2f}, {pooled['ci_high_pct']:+.2f}]"
        )
        assert pooled["method"] == DIFFERENCE_IN_DIFFERENCES
        # the other policy's stores change inside the window: never used as controls
        assert set(report["comparison"]["stores"]) <= set(UNTREATED)
        assert abs(pooled["effect_pct"] - truth) <= 2.0
        assert pooled["ci_low_pct"] <= truth <= pooled["ci_high_pct"]
        errors = [store["effect_pct"] - truth for store in report["stores"]]
        assert float(np.mean(np.abs(errors))) < 3.0
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        # visits gained over the after window: the truth is the counted visits less what they
        # would have been without the change
        counted = _after_visits(hourly, PLUS if name == "plus" else MINUS)
        true_gain = counted * truth / (100.0 + truth)
        cumulative = pooled["cumulative"]
        print(
            f"FIGURE synthetic {truth:+.0f}% visits gained: {cumulative['visits']:+,.0f} "
            f"[{cumulative['ci_low']:+,.0f}, {cumulative['ci_high']:+,.0f}], "
            f"truth {true_gain:+,.0f}"
        )
        assert cumulative["ci_low"] <= true_gain <= cumulative["ci_high"]
        assert abs(cumulative["visits"] / true_gain - 1) < 0.2
    stored = influx.query(
        'SELECT "effect_pct" FROM "policy_effects" WHERE "store" = \'pooled\' '
        'GROUP BY "policy", "method"'
    )
    gained = influx.query(
        'SELECT "visits_gained", "visits_gained_low", "visits_gained_high" FROM "policy_effects" '
        'WHERE "store" = \'pooled\' GROUP BY "policy", "method"'
    )
    # the visits gained ride on the primary method's point only
    assert {(one.tags["policy"], one.tags["method"]) for one in gained} == {
        ("plus", DIFFERENCE_IN_DIFFERENCES),
        ("minus", DIFFERENCE_IN_DIFFERENCES),
    }
    plus = next(one for one in gained if one.tags["policy"] == "plus").values[0]
    assert 0 < plus[2] < plus[1] < plus[3]
    assert {(one.tags["policy"], one.tags["method"]) for one in stored} == {
        (policy, method)
        for policy in ("plus", "minus")
        for method in (SEASONAL, INTERRUPTED_TIME_SERIES, DIFFERENCE_IN_DIFFERENCES)
    }


def _coverage(report_stores: list[UnitResult], effects: dict[str, float], method: str) -> float:
    covered = [
        unit.estimates[method].ci_low_pct
        <= effects[unit.store] * 100
        <= unit.estimates[method].ci_high_pct
        for unit in report_stores
    ]
    return float(np.mean(covered))


@pytest.mark.parametrize("seed", [7])
def test_intervals_cover_the_truth_over_200_stores(seed: int) -> None:
    # independent stores (no shared noise), +10% / -10% alternately, no comparison: the
    # seasonal and interrupted-time-series intervals of each store
    stores = [f"store-{number:03d}" for number in range(200)]
    effects = {store: 0.10 if number % 2 == 0 else -0.10 for number, store in enumerate(stores)}
    noise = NoiseSettings(store_sd=0.08, common_sd=0.0, autocorrelation=0.3)
    hourly = synthetic_visits(
        stores, first_day=FIRST_DAY, days=90, change_date=CHANGE, effects=effects,
        seed=seed, timezone=LONDON, noise=noise,
    )  # fmt: skip
    settings = ImpactSettings(
        stores=stores, effective_date=CHANGE, default_timezone=LONDON, control_mode="baseline"
    )
    report = run_impact(settings, FrameVisitLoader(hourly))
    seasonal = _coverage(report.stores, effects, SEASONAL)
    its = _coverage(report.stores, effects, INTERRUPTED_TIME_SERIES)
    print(f"FIGURE coverage over 200 stores: seasonal {seasonal:.1%}, ITS {its:.1%}")
    assert seasonal >= 0.90
    assert its >= 0.90

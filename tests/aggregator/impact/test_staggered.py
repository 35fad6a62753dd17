"""Staggered roll-outs: three waves with different true effects, recovered per wave and in
aggregate, while pooling every store around the first date is visibly biased."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from aggregator.analysis.impact.settings import ImpactSettings
from aggregator.analysis.impact.source import FrameVisitLoader
from aggregator.analysis.impact.staggered import run_staggered
from aggregator.analysis.impact.synthetic import synthetic_visits
from aggregator.analysis.importers.writer import VisitSource, write_hourly_visits
from aggregator.storage.influx import InfluxClient
from footfall.cli import app

LONDON = "Europe/London"
FIRST_DAY = date(2025, 1, 6)
WAVES = {  # adoption date: (true effect, stores)
    date(2025, 3, 3): (0.05, [f"march-{number}" for number in range(8)]),
    date(2025, 4, 7): (0.10, [f"april-{number}" for number in range(8)]),
    date(2025, 5, 12): (0.15, [f"may-{number}" for number in range(8)]),
}
NEVER = [f"never-{number:02d}" for number in range(16)]


def _visits() -> pd.DataFrame:
    """Each wave's stores get their effect from their own date (synthetic_visits takes one
    change date, so each wave is drawn with the shared noise of one seed)."""
    stores = [store for _, members in WAVES.values() for store in members]
    frames = []
    for adoption, (effect, members) in WAVES.items():
        hourly = synthetic_visits(
            [*stores, *NEVER], first_day=FIRST_DAY, days=200, change_date=adoption,
            effects=dict.fromkeys(members, effect), seed=21, timezone=LONDON,
        )  # fmt: skip
        frames.append(hourly[hourly["store"].isin(members)])
    frames.append(hourly[hourly["store"].isin(NEVER)])
    return pd.concat(frames, ignore_index=True)


def test_each_wave_and_the_aggregate_are_recovered() -> None:
    dates = {store: day for day, (_, members) in WAVES.items() for store in members}
    first = min(WAVES)
    settings = ImpactSettings(
        stores=list(dates), effective_date=first, default_timezone=LONDON,
        store_effective_dates={store: day for store, day in dates.items() if day != first},
        max_auto_controls=16,
    )  # fmt: skip
    report = run_staggered(settings, FrameVisitLoader(_visits()))
    assert [group.adoption_date for group in report.groups] == list(WAVES)
    for group in report.groups:
        truth = WAVES[group.adoption_date][0] * 100
        assert group.estimate is not None
        estimate = group.estimate
        print(
            f"FIGURE staggered wave {group.adoption_date} true {truth:+.0f}%: "
            f"{estimate.effect_pct:+.2f}% [{estimate.ci_low_pct:+.2f}, "
            f"{estimate.ci_high_pct:+.2f}] against {len(group.controls)} controls"
        )
        assert abs(group.estimate.effect_pct - truth) <= 2.0
        assert len(group.weeks) == 4
        # ATT(g, week k): each week near the wave's effect, and the weeks average to it
        weekly = np.array([week.effect_pct for week in group.weeks])
        assert np.all(np.abs(weekly - truth) <= 5.0), weekly
        assert abs(weekly.mean() - estimate.effect_pct) <= 1.0
        # clean controls only: never a store already treated inside the wave's windows
        last_day = group.adoption_date + timedelta(days=27)
        assert all(dates.get(store, date.max) > last_day for store in group.controls)
    truth = (np.exp(np.mean(np.log([1.05, 1.10, 1.15]))) - 1) * 100
    assert report.aggregate is not None
    assert report.naive_pooled is not None
    print(f"FIGURE staggered aggregate (true {truth:+.2f}%): {report.aggregate.effect_pct:+.2f}% "
          f"[{report.aggregate.ci_low_pct:+.2f}, {report.aggregate.ci_high_pct:+.2f}]; naive "
          f"pooled at the first date {report.naive_pooled.effect_pct:+.2f}%")  # fmt: skip
    assert abs(report.aggregate.effect_pct - truth) <= 1.5
    assert report.aggregate.ci_low_pct <= truth <= report.aggregate.ci_high_pct
    # pooling everyone around the first date counts the later waves as untreated: biased
    assert abs(report.naive_pooled.effect_pct - truth) > 3.0


def test_staggered_from_the_command_line(tmp_path: Path) -> None:
    hourly = _visits()
    path = tmp_path / "visits.csv"
    times = hourly["time_utc"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    frame = pd.DataFrame({"time": times, "store": hourly["store"], "visits": hourly["visits"]})
    frame.to_csv(path, index=False)
    effective = ",".join(
        f"{store}={day}" for day, (_, members) in WAVES.items() for store in members
    )
    arguments = ["impact", "--from-csv", str(path), "--effective", effective, "--tz", LONDON]
    result = CliRunner().invoke(app, [*arguments, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["design"] == "staggered"
    assert [group["adoption_date"] for group in report["groups"]] == [str(day) for day in WAVES]
    assert report["aggregate"]["ci_low_pct"] < 10.0 < report["aggregate"]["ci_high_pct"]
    assert report["naive_pooled"]["effect_pct"] < 7.0
    page, plot = tmp_path / "waves.html", tmp_path / "waves.png"
    table = CliRunner(env={"COLUMNS": "250"}).invoke(
        app, [*arguments, "--report", str(page), "--plot", str(plot)]
    )
    assert table.exit_code == 0, table.output
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = page.read_text(encoding="utf-8")
    assert 'src="data:image/png;base64,' in html
    assert "Across 3 waves, visits changed by <b>+" in html
    assert "staggered roll-out, 3 adoption dates" in " ".join(table.output.split())


def test_staggered_policy_from_the_registry(influx: InfluxClient) -> None:
    # the waves registered one by one under one policy, visits in InfluxDB (a smaller world:
    # 4 stores a wave, 8 never treated, only the days analysed)
    waves = {day: (effect, members[:4]) for day, (effect, members) in WAVES.items()}
    kept = [*(store for _, members in waves.values() for store in members), *NEVER[:8]]
    hourly = _visits()
    local_days = hourly["time_utc"].dt.tz_convert(LONDON).dt.tz_localize(None)
    first, last = min(WAVES) - timedelta(days=29), max(WAVES) + timedelta(days=29)
    inside = (local_days >= pd.Timestamp(first)) & (local_days <= pd.Timestamp(last))
    hourly = hourly[hourly["store"].isin(kept) & inside]
    write_hourly_visits(influx, hourly, VisitSource("camera", "door", "test"), "test")
    connection = ["--influx-url", influx.settings.url, "--database", influx.settings.database]
    runner = CliRunner()
    for day, (_, members) in waves.items():
        add = ["policy", "add", "--name", "waves", "--store", ",".join(members)]
        added = runner.invoke(app, [*add, "--effective", str(day), "--tz", LONDON, *connection])
        assert added.exit_code == 0, added.output
    result = runner.invoke(app, ["impact", "--policy", "waves", "--json", *connection])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["design"] == "staggered"
    assert [group["adoption_date"] for group in report["groups"]] == [str(day) for day in WAVES]
    for group in report["groups"]:
        assert group["controls"]  # never-treated or not-yet-treated stores only
        assert not set(group["controls"]) & set(
            waves[date.fromisoformat(group["adoption_date"])][1]
        )
    assert report["aggregate"]["ci_low_pct"] > 0
    refused = runner.invoke(app, ["impact", "--policy", "waves", "--store-effects", *connection])
    assert refused.exit_code == 2
    assert "--store-effects is for one effective date" in " ".join(refused.output.split())

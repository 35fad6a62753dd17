"""``footfall impact --metric conversion|capture_rate`` on real InfluxDB, with shops whose every
count has a known truth (``ratio_shops``): the ratio's effect must be the ratio's change
alone — not a change in its denominator — and its two counts are reported beside it."""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from aggregator.analysis.impact.analysis import run_impact
from aggregator.analysis.impact.estimators import DIFFERENCE_IN_DIFFERENCES
from aggregator.analysis.impact.metrics import MINIMUM_DENOMINATOR_PER_DAY, Count
from aggregator.analysis.impact.panel import DailyPanel
from aggregator.analysis.impact.settings import ImpactSettings
from aggregator.analysis.impact.source import FrameVisitLoader, utc_bounds
from aggregator.analysis.impact.synthetic import synthetic_visits
from aggregator.storage.influx import InfluxClient, InfluxSettings
from footfall.cli import app
from footfall.local_services import LocalService
from tests.aggregator.impact import ratio_shops as shops
from tests.test_tables_at_80_columns import _whole

TOLERANCE_PP = 3.0
"""Largest distance of a pooled estimate from the truth, in percentage points."""
KEYS = ("effect_pct", "ci_low_pct", "ci_high_pct")
OUTAGE_NOTE = "conversion left out on 2 day(s) without transactions data (2025-02-17, 2025-02-18)"


@pytest.fixture(scope="module")
def shop_data(
    influx_server: LocalService, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[InfluxClient, pd.DataFrame]]:
    """One database holding every shop, written once for the module; each group's change
    registered as a policy (so no group is an automatic control of another)."""
    settings = InfluxSettings(
        url=f"http://127.0.0.1:{influx_server.port}", database=f"test_{uuid.uuid4().hex[:12]}"
    )
    client = InfluxClient(settings)
    client.ensure_database()
    hours = shops.shop_hours()
    shops.write_counts(client, hours)
    tills = tmp_path_factory.mktemp("tills") / "tills.csv"
    shops.write_transactions_csv(hours, tills)
    _run(["import", "transactions", str(tills), *_connection(client)])
    for name, stores in shops.GROUPS.items():
        _run(
            [
                *("policy", "add", "--name", name, "--store", ",".join(stores)),
                *("--effective", str(shops.CHANGE), "--tz", shops.LONDON, *_connection(client)),
            ]
        )
    yield client, hours
    client.execute(f'DROP DATABASE "{settings.database}"')
    client.close()


def _connection(client: InfluxClient) -> list[str]:
    return ["--influx-url", client.settings.url, "--database", client.settings.database]


def _run(arguments: list[str], columns: int | None = None) -> str:
    runner = CliRunner(env={"COLUMNS": str(columns)} if columns else None)
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    return result.stdout


def _impact(client: InfluxClient, *arguments: str) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(
        _run(["impact", *arguments, "--json", *_connection(client)])
    )
    return report


def _check(estimate: dict[str, Any], truth: float, label: str, *, count: bool = False) -> None:
    """Within ``TOLERANCE_PP`` of the truth; for a real change the interval excludes 0. The
    interval covers the truth of a ratio and a count's truth of no change. (A count that
    changed is not held to covering its truth exactly: its own day-to-day noise, which the
    ratio cancels, is autocorrelated and the pooled three shops' interval is narrow, so it may
    miss the truth by a point; the ratio is what this asserts first.)"""
    effect, low, high = estimate["effect_pct"], estimate["ci_low_pct"], estimate["ci_high_pct"]
    print(f"FIGURE {label}: {effect:+.2f}% [{low:+.2f}, {high:+.2f}], truth {truth:+.2f}%")
    assert abs(effect - truth) <= TOLERANCE_PP, label
    if not count or truth == 0:
        assert low <= truth <= high, label
    if abs(truth) >= 5:
        assert high < 0 or low > 0, f"{label}: the interval should exclude 0"


def _decomposes(pooled: dict[str, Any]) -> None:
    """1 + ratio effect = (1 + numerator effect) / (1 + denominator effect), to rounding."""
    numerator = 1 + pooled["numerator"]["effect_pct"] / 100
    denominator = 1 + pooled["denominator"]["effect_pct"] / 100
    assert math.isclose(1 + pooled["effect_pct"] / 100, numerator / denominator, abs_tol=2e-4)


def _observed(hours: pd.DataFrame, stores: list[str], numerator: str, denominator: str) -> float:
    """The raw change of the pooled ratio, 28 days after against 28 before, in percent (a
    day without transactions for one shop is left out for the pool)."""
    skipped = shops.TILL_OUTAGE[1] if shops.TILL_OUTAGE[0] in stores else []
    ratios = [
        shops.counted(hours, stores, numerator, after, skipped)
        / shops.counted(hours, stores, denominator, after, skipped)
        for after in (False, True)
    ]
    return (ratios[1] / ratios[0] - 1) * 100


def test_conversion_follows_transactions_not_visits(
    shop_data: tuple[InfluxClient, pd.DataFrame], tmp_path: Path
) -> None:
    client, hours = shop_data
    page, plot = tmp_path / "conversion.html", tmp_path / "conversion.png"
    report = _impact(
        client, "--policy", "transactions-up", "--metric", "conversion", "--store-effects",
        "--report", str(page), "--plot", str(plot),
    )  # fmt: skip
    pooled = report["pooled"]
    assert (report["metric"], report["numerator"], report["denominator"]) == (
        "conversion", "transactions", "visits",
    )  # fmt: skip
    assert report["minimum_denominator_per_day"] == MINIMUM_DENOMINATOR_PER_DAY
    assert pooled["method"] == DIFFERENCE_IN_DIFFERENCES
    assert set(report["comparison"]["stores"]) <= {*shops.CONTROLS, shops.BARE}
    _check(pooled, 15.0, "conversion, transactions +15%")
    _check(pooled["numerator"], 15.0, "conversion's transactions, +15%", count=True)
    _check(pooled["denominator"], 0.0, "conversion's visits, unchanged", count=True)
    _decomposes(pooled)
    raw = _observed(hours, shops.TRANSACTIONS_UP, "transactions", "entries")
    assert pooled["raw_change_pct"] == pytest.approx(raw, abs=0.01)
    assert {"kind": "ratio_days", "store": "till-2", "message": OUTAGE_NOTE} in report["warnings"]
    assert "visits_per_day_before" not in pooled
    assert "cumulative" not in pooled
    visits = _impact(client, "--policy", "transactions-up", "--store-effects")["pooled"]
    _check(visits, 0.0, "visits of the conversion shops, unchanged", count=True)
    html = page.read_text(encoding="utf-8")
    assert f"<b>{pooled['effect_pct']:+.1f}%</b>" in html
    assert "Conversion (transactions ÷ visits)" in html
    assert (
        f"Over the same days: transactions {pooled['numerator']['effect_pct']:+.1f}%, "
        f"visits {pooled['denominator']['effect_pct']:+.1f}%." in html
    )
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # both estimates stored at the same time and method: the metric tag tells them apart,
    # and visits' points stay untagged (what the Policy impact dashboard selects)
    for metric, expected in (("conversion", pooled), ("", visits)):
        stored = client.query(
            'SELECT "effect_pct" FROM "policy_effects" WHERE "store" = \'pooled\' '
            f'AND "metric" = \'{metric}\' GROUP BY "method"'
        )
        by_method = {one.tags["method"]: one.values for one in stored}
        assert len(by_method[DIFFERENCE_IN_DIFFERENCES]) == 1
        effect = by_method[DIFFERENCE_IN_DIFFERENCES][0][1]
        assert effect == pytest.approx(expected["effect_pct"], abs=0.01)


def test_conversion_falls_when_only_visits_rise(
    shop_data: tuple[InfluxClient, pd.DataFrame],
) -> None:
    client, _ = shop_data
    report = _impact(
        client, "--store", ",".join(shops.VISITS_UP), "--effective", str(shops.CHANGE),
        "--tz", shops.LONDON, "--controls", ",".join(shops.CONTROLS), "--metric", "conversion",
    )  # fmt: skip
    pooled = report["pooled"]
    assert report["comparison"]["stores"] == shops.CONTROLS
    _check(pooled, (1 / 1.2 - 1) * 100, "conversion, visits +20% alone")
    _check(pooled["numerator"], 0.0, "conversion's transactions, unchanged", count=True)
    _check(pooled["denominator"], 20.0, "conversion's visits, +20%", count=True)
    _decomposes(pooled)
    assert [store["store"] for store in report["stores"]] == shops.VISITS_UP


def test_capture_rate_follows_entries(shop_data: tuple[InfluxClient, pd.DataFrame]) -> None:
    client, hours = shop_data
    report = _impact(client, "--policy", "entries-up", "--metric", "capture_rate")
    pooled = report["pooled"]
    assert (report["numerator"], report["denominator"]) == ("entries", "passers-by")
    _check(pooled, 10.0, "capture rate, entries +10%")
    _check(pooled["numerator"], 10.0, "capture rate's entries, +10%", count=True)
    _check(pooled["denominator"], 0.0, "capture rate's passers-by, unchanged", count=True)
    _decomposes(pooled)
    before = shops.counted(hours, shops.ENTRIES_UP, "entries", False, []) / shops.counted(
        hours, shops.ENTRIES_UP, "passers_by", False, []
    )
    assert pooled["ratio_before_pct"] == pytest.approx(before * 100, abs=0.01)


def test_capture_rate_holds_when_passers_by_and_entries_fall_together(
    shop_data: tuple[InfluxClient, pd.DataFrame],
) -> None:
    client, _ = shop_data
    pooled = _impact(client, "--policy", "both-down", "--metric", "capture_rate")["pooled"]
    _check(pooled, 0.0, "capture rate, passers-by and entries -30%")
    _check(pooled["numerator"], -30.0, "capture rate's entries, -30%", count=True)
    _check(pooled["denominator"], -30.0, "capture rate's passers-by, -30%", count=True)
    _decomposes(pooled)
    visits = _impact(client, "--policy", "both-down")["pooled"]
    _check(visits, -30.0, "visits of the roadworks shops, -30%", count=True)


def _shown(value: float, table: str) -> bool:
    """Whether ``value`` (a JSON percentage, rounded to 0.01) appears whole on a line of
    ``table`` at one decimal, allowing for the table rounding the unrounded value."""
    shown = {f"{value + step:+.1f}" for step in (-0.005, 0.0, 0.005)}
    return any(
        re.search(rf"(?<![\d.]){re.escape(text)}(?![\d])", line)
        for text in shown
        for line in table.splitlines()
    )


def test_ratio_table_at_80_columns_shows_every_number_whole(
    shop_data: tuple[InfluxClient, pd.DataFrame],
) -> None:
    client, _ = shop_data
    arguments = ["impact", "--policy", "transactions-up", "--metric", "conversion"]
    table = _run([*arguments, *_connection(client)], columns=80)
    report = _impact(client, *arguments[1:])
    ratios, effects = [], []
    for unit in [report["pooled"], *report["stores"]]:
        ratios += [f"{unit['ratio_before_pct']:.2f}%", f"{unit['ratio_after_pct']:.2f}%"]
        effects += [unit["effect_pct"], unit["ci_low_pct"], unit["ci_high_pct"]]
        effects += [unit[count][key] for count in ("numerator", "denominator") for key in KEYS]
    assert len(effects) == 4 * 9
    assert _whole(ratios, table) == []
    assert [value for value in effects if not _shown(value, table)] == []
    assert "…" not in table
    assert all(len(line) <= 80 for line in table.splitlines())
    pooled = report["pooled"]
    assert re.search(
        r"^pooled: transactions [+-]\d+\.\d%, visits [+-]\d+\.\d%, conversion [+-]\d+\.\d% "
        r"\[[+-]\d+\.\d, [+-]\d+\.\d\]$",
        table,
        flags=re.MULTILINE,
    )
    assert _shown(pooled["numerator"]["effect_pct"], table.split("pooled: ")[-1])


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        (
            "conversion",
            "store bare has no transactions in 2025-01-06..2025-03-30: import them with "
            "footfall import transactions",
        ),
        ("capture_rate", "store bare has no passers-by in 2025-01-06..2025-03-30: count them"),
    ],
)
def test_a_store_without_the_ratios_count_is_refused_by_name(
    shop_data: tuple[InfluxClient, pd.DataFrame], metric: str, message: str
) -> None:
    client, _ = shop_data
    arguments = [
        "impact", "--store", shops.BARE, "--effective", str(shops.CHANGE), "--tz", shops.LONDON,
        "--metric", metric, *_connection(client),
    ]  # fmt: skip
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--metric", "footfall"], "--metric 'footfall' is not one of visits, conversion"),
        (
            ["--metric", "conversion", "--from-csv", "visits.csv"],
            "--metric conversion needs InfluxDB",
        ),
        (["--metric", "capture_rate", "--design", "synthetic"], "--design synthetic reads"),
    ],
)
def test_what_a_ratio_cannot_be_read_with_is_refused(arguments: list[str], message: str) -> None:
    ad_hoc = ["impact", "--store", "s1", "--effective", "2025-03-03", *arguments]
    result = CliRunner().invoke(app, ad_hoc)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_a_ratio_pools_summed_counts_on_days_every_store_has() -> None:
    days = pd.date_range("2025-03-03", periods=3, freq="D")
    numerator = pd.DataFrame({"a": [10.0, 0.0, 12.0], "b": [30.0, 5.0, np.nan]}, index=days)
    denominator = pd.DataFrame({"a": [100.0, 80.0, 19.0], "b": [100.0, 50.0, 60.0]}, index=days)
    panel = DailyPanel(numerator, denominator)
    # day 2: a has no transactions; day 3: a below the minimum and b without data
    np.testing.assert_allclose(panel.values["a"], [0.1, np.nan, np.nan])
    np.testing.assert_allclose(panel.values["b"], [0.3, 0.1, np.nan])
    np.testing.assert_allclose(panel.pooled(["a", "b"]), [0.2, np.nan, np.nan])
    np.testing.assert_allclose(panel.pooled(["b"], "denominator"), [100.0, 50.0, np.nan])
    visits = DailyPanel(numerator)
    np.testing.assert_allclose(visits.pooled(["a", "b"]), [40.0, 5.0, np.nan])


class _FrameCounts(FrameVisitLoader):
    """Visits and a ratio's other count from memory (the loader interface InfluxDB serves)."""

    def __init__(self, hourly: pd.DataFrame, counts: dict[Count, pd.DataFrame]) -> None:
        super().__init__(hourly)
        self.counts = counts

    def hourly_counts(
        self, count: Count, stores: Sequence[str], first_day: date, last_day: date
    ) -> pd.DataFrame:
        frame = self.counts[count]
        start, end = utc_bounds(first_day, last_day)
        inside = (frame["time_utc"] >= start) & (frame["time_utc"] < end)
        return frame[inside & frame["store"].isin(list(stores))].reset_index(drop=True)


def test_conversion_against_the_same_weeks_a_year_earlier() -> None:
    # one pilot shop, no controls: its tills sell to 23% of visitors from the change on
    # instead of 20% (+15%), its visits unchanged; compared with its own weeks of 2024
    first_day = shops.CHANGE - timedelta(days=364 + 60)
    visits = synthetic_visits(
        ["pilot"], first_day=first_day, days=364 + 90, change_date=shops.CHANGE, effects={},
        seed=21, timezone=shops.LONDON,
    )  # fmt: skip
    local = visits["time_utc"].dt.tz_convert(shops.LONDON).dt.date
    rate = np.where(local >= shops.CHANGE, 0.23, 0.20)
    tills = visits.assign(visits=np.random.default_rng(22).binomial(visits["visits"], rate))
    settings = ImpactSettings(
        stores=["pilot"], effective_date=shops.CHANGE, default_timezone=shops.LONDON,
        control_mode="baseline", metric="conversion",
    )  # fmt: skip
    loader = _FrameCounts(visits, {Count.TRANSACTIONS: tills[visits["visits"] > 0]})
    report = run_impact(settings, loader).to_json()
    assert (report["comparison"]["kind"], report["comparison"]["baseline_year"]) == (
        "baseline_year", 2024,
    )  # fmt: skip
    pooled = report["pooled"]
    assert pooled["method"] == DIFFERENCE_IN_DIFFERENCES
    _check(pooled, 15.0, "conversion against 2024, transactions +15%")
    # without control shops the counts keep the year's own swings of visits (a few percent
    # here), which the ratio cancels: only their exact split is asserted
    assert (pooled["numerator"]["name"], pooled["denominator"]["name"]) == (
        "transactions", "visits",
    )  # fmt: skip
    _decomposes(pooled)

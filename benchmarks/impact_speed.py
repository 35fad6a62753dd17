"""Impact analysis speed: 100 stores x 1 year of hourly visits in a throw-away InfluxDB, then
``impact`` for a policy over 20 stores with automatic control stores.

Prints seconds for: writing the data (through the importer's writer), the InfluxDB queries of
one analysis, and the analysis itself (daily series, control choice, three estimators and the
placebo for 20 stores plus the pool, quality checks), first with an empty critical-value cache
and then repeated; then the other designs (a staggered roll-out, synthetic control for one
store and for all treated, trial planning); finally the whole ``footfall impact --json``
command in a new process.

    python benchmarks/impact_speed.py [--stores 100] [--treated 20] [--days 365]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from aggregator.analysis.impact.analysis import run_impact
from aggregator.analysis.impact.history import PlanSettings, plan_history
from aggregator.analysis.impact.inference import _simulated_critical_value
from aggregator.analysis.impact.power import plan_power
from aggregator.analysis.impact.regression import Estimate
from aggregator.analysis.impact.settings import ImpactSettings
from aggregator.analysis.impact.source import InfluxVisitLoader, VisitData
from aggregator.analysis.impact.staggered import run_staggered
from aggregator.analysis.impact.synthetic import synthetic_visits
from aggregator.analysis.importers.writer import VisitSource, write_hourly_visits
from aggregator.analysis.policies import PolicyRegistry
from aggregator.storage.influx import InfluxClient, InfluxSettings
from footfall.local_services import influxdb, wait_influx_ping

TIMEZONE = "Europe/London"
FIRST_DAY = date(2025, 1, 1)
CHANGE = date(2025, 9, 1)


class TimedLoader:
    """The InfluxDB loader, timing its queries: wall seconds, and this process's CPU seconds
    (parsing the answers), so the analysis's own CPU time can be told apart."""

    def __init__(self, client: InfluxClient) -> None:
        self.inner = InfluxVisitLoader(client)
        self.seconds = 0.0
        self.cpu_seconds = 0.0

    def load(self, stores: Sequence[str] | None, first_day: date, last_day: date) -> VisitData:
        started, cpu = time.perf_counter(), time.process_time()
        data = self.inner.load(stores, first_day, last_day)
        self.seconds += time.perf_counter() - started
        self.cpu_seconds += time.process_time() - cpu
        return data

    def daily_totals(self, first_day: date, last_day: date) -> pd.DataFrame:
        started, cpu = time.perf_counter(), time.process_time()
        totals = self.inner.daily_totals(first_day, last_day)
        self.seconds += time.perf_counter() - started
        self.cpu_seconds += time.process_time() - cpu
        return totals


def _analyse(settings: ImpactSettings, client: InfluxClient) -> tuple[float, float, float, str]:
    """Query seconds, analysis seconds (wall) and analysis CPU seconds: on a busy machine the
    CPU time is the figure that measures the code rather than the load."""
    loader = TimedLoader(client)
    started, cpu = time.perf_counter(), time.process_time()
    report = run_impact(settings, loader)
    total = time.perf_counter() - started
    analysis_cpu = time.process_time() - cpu - loader.cpu_seconds
    pooled = report.pooled.primary
    summary = (
        f"pooled {pooled.effect_pct:+.1f}% [{pooled.ci_low_pct:+.1f}, {pooled.ci_high_pct:+.1f}]"
        f" ({report.pooled.primary_method}, {len(report.comparison['stores'])} controls)"
        if pooled
        else "no estimate"
    )
    return loader.seconds, total - loader.seconds, analysis_cpu, summary


def _write(client: InfluxClient, hourly: pd.DataFrame, treated: list[str]) -> None:
    client.ensure_database()
    started = time.perf_counter()
    write_hourly_visits(client, hourly, VisitSource("bench-camera", "door", "benchmark"), "bench")
    print(f"write: {2 * len(hourly):,} points in {time.perf_counter() - started:.1f} s")
    PolicyRegistry(client).add("benchmark", treated, CHANGE, dict.fromkeys(treated, TIMEZONE))


def _measure(client: InfluxClient, treated: list[str], repeats: int) -> None:
    settings = ImpactSettings(
        policy="benchmark", stores=treated, effective_date=CHANGE,
        default_timezone=TIMEZONE, control_mode="auto",
    )  # fmt: skip
    _simulated_critical_value.cache_clear()
    query, analysis, cpu, summary = _analyse(settings, client)
    print(
        f"first run:  query {query:.2f} s, analysis {analysis:.2f} s (CPU {cpu:.2f} s); {summary}"
    )
    runs = [_analyse(settings, client) for _ in range(repeats)]
    print(
        f"repeated ({repeats}x, median): query {statistics.median(r[0] for r in runs):.2f} s, "
        f"analysis {statistics.median(r[1] for r in runs):.2f} s "
        f"(CPU {statistics.median(r[2] for r in runs):.2f} s)"
    )
    _other_designs(client, treated)
    command = [
        sys.executable, "-m", "footfall.cli", "impact", "--policy", "benchmark", "--json",
        "--influx-url", client.settings.url, "--database", client.settings.database,
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    print(f"footfall impact --json (new process): {time.perf_counter() - started:.2f} s")


def _timed(label: str, run: Callable[[TimedLoader], str], client: InfluxClient) -> None:
    loader = TimedLoader(client)
    started, cpu = time.perf_counter(), time.process_time()
    summary = run(loader)
    analysis = time.perf_counter() - started - loader.seconds
    analysis_cpu = time.process_time() - cpu - loader.cpu_seconds
    print(
        f"{label}: query {loader.seconds:.2f} s, analysis {analysis:.2f} s "
        f"(CPU {analysis_cpu:.2f} s); {summary}"
    )


def _interval(estimate: Estimate | None) -> str:
    if estimate is None:
        return "no estimate"
    return f"{estimate.effect_pct:+.1f}% [{estimate.ci_low_pct:+.1f}, {estimate.ci_high_pct:+.1f}]"


def _other_designs(client: InfluxClient, treated: list[str]) -> None:
    """Staggered roll-out (a second wave of 10 untreated stores 5 weeks later: true 0%),
    synthetic control for one store and for all treated, and trial planning."""
    second_wave = [f"store-{number:03d}" for number in range(len(treated), len(treated) + 10)]
    later = CHANGE + timedelta(days=35)
    staggered = ImpactSettings(
        policy="benchmark", stores=[*treated, *second_wave], effective_date=CHANGE,
        store_effective_dates=dict.fromkeys(second_wave, later), default_timezone=TIMEZONE,
    )  # fmt: skip

    def run_waves(loader: TimedLoader) -> str:
        report = run_staggered(staggered, loader)
        waves = "; ".join(
            f"{group.adoption_date} {_interval(group.estimate)}" for group in report.groups
        )
        return f"waves {waves}; aggregate {_interval(report.aggregate)} (truths +5%, 0%)"

    _timed("staggered, 2 waves (20 + 10 stores)", run_waves, client)
    for stores in (treated[:1], treated):
        settings = ImpactSettings(
            policy="benchmark", stores=stores, effective_date=CHANGE,
            default_timezone=TIMEZONE, design="synthetic",
        )  # fmt: skip

        def run_synthetic(loader: TimedLoader, settings: ImpactSettings = settings) -> str:
            pooled = run_impact(settings, loader).pooled
            control = pooled.synthetic_control
            rank = f", placebo rank {control.placebo_rank}" if control else ""
            return f"pooled {_interval(pooled.primary)}{rank} (true +5%)"

        _timed(f"synthetic control, {len(stores)} treated", run_synthetic, client)
    plan = PlanSettings(
        stores=treated, history_days=240, until=CHANGE - timedelta(days=1),
        default_timezone=TIMEZONE,
    )  # fmt: skip

    def run_plan(loader: TimedLoader) -> str:
        power = plan_power(plan_history(plan, loader).unit, 28, 28)
        return (
            f"MDE +{power.minimum_detectable_effect():.2%} over {len(power.placebo)} placebo "
            "dates (4 + 4 weeks)"
        )

    _timed("impact plan, 20 stores, 240 days of history", run_plan, client)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=100)
    parser.add_argument("--treated", type=int, default=20)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    started = time.perf_counter()
    import scipy.signal
    import statsmodels.api

    del scipy.signal, statsmodels.api
    print(f"library imports (statsmodels, scipy): {time.perf_counter() - started:.2f} s, once")
    stores = [f"store-{number:03d}" for number in range(options.stores)]
    treated = stores[: options.treated]
    started = time.perf_counter()
    hourly = synthetic_visits(
        stores, first_day=FIRST_DAY, days=options.days, change_date=CHANGE,
        effects=dict.fromkeys(treated, 0.05), seed=2026, timezone=TIMEZONE,
    )  # fmt: skip
    print(f"synthetic data: {len(hourly):,} store-hours in {time.perf_counter() - started:.2f} s")
    with tempfile.TemporaryDirectory(prefix="footfall-bench-") as directory:
        server = influxdb(Path(directory) / "influxdb")
        server.start()
        try:
            wait_influx_ping(server.port)
            url = f"http://127.0.0.1:{server.port}"
            with InfluxClient(
                InfluxSettings(url=url, database="bench", timeout_seconds=300)
            ) as client:
                _write(client, hourly, treated)
                _measure(client, treated, options.repeats)
        finally:
            server.stop()
    first, last = CHANGE - timedelta(days=56), CHANGE + timedelta(days=27)
    print(f"true effect +5.0%; days analysed {first} .. {last}")


if __name__ == "__main__":
    main()

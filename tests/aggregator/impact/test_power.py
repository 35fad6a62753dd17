"""Trial planning: the minimum detectable effect from a store's history must be what the
analysis then detects 80% of the time, and a trial without effect must rarely be called one.

The world: 5 stores that would be treated and 15 others, hourly visits with day-level AR(1)
noise per store and shared by all (``synthetic``). The plan reads a year of history; then 200
fresh trials of the same stores (same levels, new noise) with the planned MDE injected, and
200 without, are read by the analysis's estimator (difference-in-differences against the
plan's control stores, calibrated 95% interval)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from aggregator.analysis.impact.estimators import difference_in_differences_design
from aggregator.analysis.impact.history import PlanSettings, plan_history
from aggregator.analysis.impact.power import plan_power
from aggregator.analysis.impact.regression import Estimate
from aggregator.analysis.impact.settings import Windows
from aggregator.analysis.impact.source import FrameVisitLoader
from aggregator.analysis.impact.synthetic import synthetic_visits
from footfall.cli import app

LONDON = "Europe/London"
TREATED = [f"treated-{number}" for number in range(5)]
OTHERS = [f"other-{number:02d}" for number in range(15)]
LEVELS = dict(
    zip([*TREATED, *OTHERS], np.random.default_rng(3).uniform(600, 3000, 20), strict=True)
)
HISTORY_FIRST = date(2024, 1, 1)
TRIAL_CHANGE = date(2025, 6, 2)
TRIALS = 200


def _history() -> pd.DataFrame:
    return synthetic_visits(
        [*TREATED, *OTHERS], first_day=HISTORY_FIRST, days=364, change_date=date(2030, 1, 1),
        effects={}, seed=11, timezone=LONDON, base_visits=LEVELS,
    )  # fmt: skip


def _trial(controls: list[str], effect: float, seed: int) -> Estimate:
    first = TRIAL_CHANGE - timedelta(days=28)
    hourly = synthetic_visits(
        [*TREATED, *controls], first_day=first, days=56, change_date=TRIAL_CHANGE,
        effects=dict.fromkeys(TREATED, effect), seed=seed, timezone=LONDON, base_visits=LEVELS,
    )  # fmt: skip
    settings = PlanSettings(
        stores=TREATED, control_mode="stores", control_stores=controls, history_days=56,
        until=TRIAL_CHANGE + timedelta(days=27), default_timezone=LONDON,
    )  # fmt: skip
    unit = plan_history(settings, FrameVisitLoader(hourly)).unit
    return difference_in_differences_design(unit, Windows(TRIAL_CHANGE, 28, 28)).fit().estimate


def test_planned_effect_is_detected_four_times_in_five() -> None:
    settings = PlanSettings(
        stores=TREATED, until=HISTORY_FIRST + timedelta(days=363), default_timezone=LONDON
    )
    history = plan_history(settings, FrameVisitLoader(_history()))
    assert history.comparison.startswith("control stores other-")
    planned = plan_power(history.unit, 28, 28)
    assert planned.method == "difference_in_differences"
    assert len(planned.placebo) == 45
    mde = planned.minimum_detectable_effect()
    controls = history.comparison.removeprefix("control stores ").split(", ")
    detected = [_trial(controls, mde, 1000 + draw) for draw in range(TRIALS)]
    null = [_trial(controls, 0.0, 5000 + draw) for draw in range(TRIALS)]
    detection = np.mean([one.ci_low_pct > 0 for one in detected])
    false_alarms = np.mean([one.excludes_zero for one in null])
    print(
        f"FIGURE plan: MDE +{mde:.2%} (4 + 4 weeks, 5 stores vs {len(controls)} controls); "
        f"{TRIALS} trials at the MDE detect it {detection:.1%}; at zero reject {false_alarms:.1%}"
    )
    assert 0.75 <= detection <= 0.85
    assert false_alarms <= 0.06
    # where the noise model holds, the placebo dates themselves agree with it
    assert planned.false_alarm_rate <= 0.10
    empirical = planned.to_json()["mde_empirical_pct"]
    assert empirical is not None
    assert 0.5 * mde * 100 <= empirical <= 2.0 * mde * 100


def test_plan_command_from_csv(tmp_path: Path) -> None:
    hourly = _history()
    path = tmp_path / "history.csv"
    times = hourly["time_utc"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    frame = pd.DataFrame({"time": times, "store": hourly["store"], "visits": hourly["visits"]})
    frame.to_csv(path, index=False)
    arguments = [
        "impact", "plan", "--from-csv", str(path), "--stores", ",".join(TREATED[:2]),
        "--controls", ",".join(OTHERS), "--tz", LONDON, "--weeks", "4", "--effect", "5%",
        "--json",
    ]  # fmt: skip
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["stores"] == TREATED[:2]
    assert report["history_last_day"] == "2024-12-28"  # the last full day before the last
    assert report["method"] == "difference_in_differences"
    assert 1.0 < report["mde_pct"] < 20.0
    assert report["power_at_zero"] <= 0.06
    assert report["placebo_false_alarms"] <= 0.15
    by_weeks = {step["weeks"]: step["mde_pct"] for step in report["mde_by_weeks"]}
    weeks = report["weeks_needed"]
    # longer trials see smaller effects; the answer is the first length that sees 5%
    assert by_weeks[weeks] <= 5.0 < by_weeks[weeks - 1]
    assert by_weeks[2] > by_weeks[4] > by_weeks[weeks]


def test_plan_needs_weeks_or_effect() -> None:
    result = CliRunner().invoke(app, ["impact", "plan", "--stores", "a", "--from-csv", "x.csv"])
    assert result.exit_code == 2
    assert "give --weeks N" in result.output

"""Synthetic control for a single pilot store: weights over untreated stores fitted on the
before window recover an injected effect; placebo-in-space ranks it among the donors."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from aggregator.analysis.impact.analysis import run_impact
from aggregator.analysis.impact.settings import ImpactSettings
from aggregator.analysis.impact.source import FrameVisitLoader
from aggregator.analysis.impact.synthetic import synthetic_visits
from aggregator.analysis.impact.synthetic_control import SYNTHETIC_CONTROL, fit_synthetic

LONDON = "Europe/London"
CHANGE = date(2025, 3, 3)
OTHERS = [f"other-{number:02d}" for number in range(20)]


def test_weights_reproduce_a_mix_of_donors() -> None:
    rng = np.random.default_rng(5)
    donors = rng.normal(0, 0.1, (56, 5)).cumsum(axis=0)
    target = donors @ np.array([0.5, 0.3, 0.2, 0.0, 0.0]) + 2.0
    before = np.arange(56) < 28
    target[~before] += np.log(1.10)
    fitted = fit_synthetic(target, donors, before)
    assert fitted.weights == pytest.approx([0.5, 0.3, 0.2, 0.0, 0.0], abs=1e-3)
    assert fitted.weights.sum() == pytest.approx(1.0)
    assert fitted.effect == pytest.approx(np.log(1.10), abs=1e-3)
    assert fitted.pre_rmspe < 1e-3


@pytest.mark.parametrize("design", ["synthetic", "auto"])
def test_one_treated_store_with_ten_percent(design: str) -> None:
    hourly = synthetic_visits(
        ["pilot", *OTHERS], first_day=CHANGE - timedelta(days=60), days=90, change_date=CHANGE,
        effects={"pilot": 0.10}, seed=4, timezone=LONDON,
    )  # fmt: skip
    settings = ImpactSettings(
        stores=["pilot"], effective_date=CHANGE, default_timezone=LONDON, design=design,
        max_auto_controls=20,
    )  # fmt: skip
    report = run_impact(settings, FrameVisitLoader(hourly))
    pooled = report.pooled
    control = pooled.synthetic_control
    assert control is not None
    synthetic = pooled.estimates[SYNTHETIC_CONTROL]
    did = pooled.estimates["difference_in_differences"]
    print(
        f"FIGURE synthetic control, one store +10% ({design}): {synthetic.effect_pct:+.2f}% "
        f"[{synthetic.ci_low_pct:+.2f}, {synthetic.ci_high_pct:+.2f}], before-window RMSPE "
        f"{control.pre_rmspe:.2%} vs control pool {control.comparison_pre_rmspe:.2%}, placebo "
        f"rank {control.placebo_rank} of {control.placebo_count + 1} (p {control.p_value:.3f}); "
        f"DiD {did.effect_pct:+.2f}%; primary {pooled.primary_method}"
    )
    assert abs(synthetic.effect_pct - 10.0) <= 3.0
    assert control.placebo_count == 20
    assert control.placebo_rank == 1  # the pilot's after/before misfit beats every placebo's
    assert synthetic.ci_low_pct > 0
    assert sum(control.weights.values()) == pytest.approx(1.0)
    if design == "synthetic":
        assert pooled.primary_method == SYNTHETIC_CONTROL
        assert pooled.comparison.startswith("synthetic control (")
    json_control = pooled.to_json()["synthetic_control"]
    assert json_control["placebo_rank"] == 1

"""The impact plot: pooled daily visits with the change date and the counterfactual band, and
per-store effects with their 95% intervals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from aggregator.analysis.impact.results import ImpactReport


def save_plot(report: ImpactReport, path: Path) -> None:
    """Write a PNG to ``path`` (matplotlib's Agg backend; no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    units = [unit for unit in report.stores if unit.primary is not None]
    figure, (visits_axes, effects_axes) = plt.subplots(
        2, 1, figsize=(10, 6 + 0.22 * len(units)), height_ratios=[3, 1 + 0.12 * len(units)]
    )
    series = report.plot
    if series is not None:
        visits_axes.plot(series.days, series.visits, color="#1f4e79", label="visits per day")
        visits_axes.plot(
            series.days,
            series.counterfactual,
            color="#c55a11",
            linestyle="--",
            label="counterfactual (no change)",
        )
        visits_axes.fill_between(
            series.days,
            series.band_low,
            series.band_high,
            color="#c55a11",
            alpha=0.2,
            label="counterfactual, 95% band",
        )
    visits_axes.axvline(np.datetime64(report.change_date), color="black", label="change")
    visits_axes.axvline(
        np.datetime64(report.placebo_date), color="grey", linestyle=":", label="placebo date"
    )
    comparison = report.comparison["description"]
    visits_axes.set_title(f"{report.policy}: pooled stores; comparison: {comparison}")
    visits_axes.set_ylabel("visits per day")
    visits_axes.legend(loc="best", fontsize="small")
    _effects(effects_axes, report)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _effects(axes: Any, report: ImpactReport) -> None:
    units = [unit for unit in [*report.stores, report.pooled] if unit.primary is not None]
    labels = [unit.store for unit in units]
    effects = np.array([unit.primary.effect_pct for unit in units if unit.primary])
    lows = np.array([unit.primary.ci_low_pct for unit in units if unit.primary])
    highs = np.array([unit.primary.ci_high_pct for unit in units if unit.primary])
    positions = np.arange(len(units))
    axes.errorbar(
        effects, positions, xerr=[effects - lows, highs - effects], fmt="o", color="#1f4e79"
    )
    axes.axvline(0, color="grey", linewidth=0.8)
    axes.set_yticks(positions, labels, fontsize="small")
    axes.set_xlabel("effect on visits, % (95% CI)")

"""The impact plot: pooled daily visits with the change date and the counterfactual band,
visits gained since the change (cumulative, with its band), and per-store effects with their
95% intervals."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from aggregator.analysis.impact.results import ImpactReport, cumulative_path


def plot_png(report: ImpactReport) -> bytes:
    """The plot as PNG bytes (for ``--plot`` and the HTML report; matplotlib's Agg backend,
    no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    units = [unit for unit in report.stores if unit.primary is not None]
    figure, (visits_axes, gained_axes, effects_axes) = plt.subplots(
        3,
        1,
        figsize=(10, 8 + 0.22 * len(units)),
        height_ratios=[3, 1.6, 1 + 0.12 * len(units)],
    )
    _visits(visits_axes, report)
    _gained(gained_axes, report)
    _effects(effects_axes, report)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def _visits(axes: Any, report: ImpactReport) -> None:
    series = report.plot
    if series is not None:
        axes.plot(series.days, series.visits, color="#1f4e79", label="visits per day")
        axes.plot(
            series.days,
            series.counterfactual,
            color="#c55a11",
            linestyle="--",
            label="counterfactual (no change)",
        )
        axes.fill_between(
            series.days,
            series.band_low,
            series.band_high,
            color="#c55a11",
            alpha=0.2,
            label="counterfactual, 95% band",
        )
    axes.axvline(np.datetime64(report.change_date), color="black", label="change")
    axes.axvline(
        np.datetime64(report.placebo_date), color="grey", linestyle=":", label="placebo date"
    )
    comparison = report.pooled.comparison or report.comparison["description"]
    axes.set_title(f"{report.policy}: pooled stores; comparison: {comparison}", fontsize="small")
    axes.set_ylabel("visits per day")
    axes.legend(loc="best", fontsize="small")


def _gained(axes: Any, report: ImpactReport) -> None:
    primary = report.pooled.primary
    if report.plot is None or primary is None:
        axes.set_axis_off()
        return
    days, gained, low, high = cumulative_path(report.plot, report.change_date, primary)
    axes.plot(days, gained, color="#1f4e79", label="visits gained since the change")
    axes.fill_between(days, low, high, color="#1f4e79", alpha=0.2, label="95% band")
    axes.axhline(0, color="grey", linewidth=0.8)
    axes.set_ylabel("cumulative visits")
    axes.legend(loc="best", fontsize="small")


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

"""The impact plot: pooled daily visits with the change date and the counterfactual band,
visits gained since the change (cumulative, with its band), and per-store effects with their
95% intervals. For a ratio metric: the pooled daily ratio in percent, the pooled effects on
the ratio and on its two counts (which moved), and the per-store effects on the ratio."""

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
    if report.ratio is None:
        _gained(gained_axes, report)
    else:
        _counts(gained_axes, report)
    _effects(effects_axes, report)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def _visits(axes: Any, report: ImpactReport) -> None:
    series = report.plot
    label = "visits per day" if report.ratio is None else f"{report.ratio.label}, % per day"
    scale = 1.0 if report.ratio is None else 100.0
    if series is not None:
        axes.plot(series.days, series.visits * scale, color="#1f4e79", label=label)
        axes.plot(
            series.days,
            series.counterfactual * scale,
            color="#c55a11",
            linestyle="--",
            label="counterfactual (no change)",
        )
        axes.fill_between(
            series.days,
            series.band_low * scale,
            series.band_high * scale,
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
    axes.set_ylabel(label)
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


def _counts(axes: Any, report: ImpactReport) -> None:
    """The pooled effects on the ratio's numerator, denominator and the ratio itself."""
    pooled, ratio = report.pooled, report.ratio
    if pooled.ratio is None or ratio is None:
        axes.set_axis_off()
        return
    named = [
        (count.name, count.estimate) for count in (pooled.ratio.numerator, pooled.ratio.denominator)
    ] + [(ratio.label, pooled.primary)]
    shown = [(name, estimate) for name, estimate in named if estimate is not None]
    if not shown:
        axes.set_axis_off()
        return
    effects = np.array([estimate.effect_pct for _, estimate in shown])
    lows = np.array([estimate.ci_low_pct for _, estimate in shown])
    highs = np.array([estimate.ci_high_pct for _, estimate in shown])
    positions = np.arange(len(shown))
    axes.errorbar(
        effects, positions, xerr=[effects - lows, highs - effects], fmt="o", color="#c55a11"
    )
    axes.axvline(0, color="grey", linewidth=0.8)
    axes.set_yticks(positions, [name for name, _ in shown], fontsize="small")
    axes.set_xlabel("pooled effect, % (95% CI): which count moved")


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
    measured = "visits" if report.ratio is None else report.ratio.label
    axes.set_xlabel(f"effect on {measured}, % (95% CI)")

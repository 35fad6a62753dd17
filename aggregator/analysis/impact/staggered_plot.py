"""The staggered roll-out plot: each wave's effect by week after its adoption date (the
group-time effects ATT(g, week k)) with 95% intervals, and the aggregate with its band."""

from __future__ import annotations

import io

import numpy as np

from aggregator.analysis.impact.staggered import StaggeredReport

COLOURS = ("#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000", "#2e75b6")


def staggered_png(report: StaggeredReport) -> bytes:
    """PNG bytes (matplotlib's Agg backend; no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    figure, axes = plt.subplots(figsize=(10, 5))
    groups = [group for group in report.groups if group.weeks]
    for position, group in enumerate(groups):
        weeks = np.arange(1, len(group.weeks) + 1) + (position - len(groups) / 2) * 0.08
        effects = np.array([week.effect_pct for week in group.weeks])
        lows = np.array([week.ci_low_pct for week in group.weeks])
        highs = np.array([week.ci_high_pct for week in group.weeks])
        axes.errorbar(
            weeks,
            effects,
            yerr=[effects - lows, highs - effects],
            fmt="o-",
            capsize=3,
            color=COLOURS[position % len(COLOURS)],
            label=f"wave {group.adoption_date} ({len(group.stores)} stores)",
        )
    if report.aggregate is not None:
        aggregate = report.aggregate
        axes.axhline(aggregate.effect_pct, color="black", label="aggregate")
        axes.axhspan(aggregate.ci_low_pct, aggregate.ci_high_pct, color="black", alpha=0.1)
    if report.naive_pooled is not None:
        axes.axhline(
            report.naive_pooled.effect_pct,
            color="grey",
            linestyle=":",
            label="naive pooled (first date, biased)",
        )
    axes.axhline(0, color="grey", linewidth=0.8)
    axes.set_xlabel("week after the wave's adoption date")
    axes.set_ylabel("effect on visits, % (95% CI)")
    axes.set_title(f"{report.policy}: staggered roll-out", fontsize="small")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, fontsize="small")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()

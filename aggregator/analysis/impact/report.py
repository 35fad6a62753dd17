"""The impact report as a table (per store and pooled) followed by the warnings."""

from __future__ import annotations

import math

from rich.console import Console

from aggregator.analysis.impact.estimators import (
    DIFFERENCE_IN_DIFFERENCES,
    INTERRUPTED_TIME_SERIES,
    SEASONAL,
)
from aggregator.analysis.impact.metrics import MINIMUM_DENOMINATOR_PER_DAY, RatioMetric
from aggregator.analysis.impact.regression import Estimate
from aggregator.analysis.impact.results import ImpactReport, UnitResult
from aggregator.analysis.impact.synthetic_control import SYNTHETIC_CONTROL
from command_line.tables import Column, print_table

SHORT_NAMES = {
    SEASONAL: "seasonal",
    INTERRUPTED_TIME_SERIES: "ITS",
    DIFFERENCE_IN_DIFFERENCES: "DiD",
    SYNTHETIC_CONTROL: "SC",
}


def _interval(estimate: Estimate | None) -> str:
    if estimate is None:
        return "-"
    return f"{estimate.effect_pct:+.1f}% [{estimate.ci_low_pct:+.1f}, {estimate.ci_high_pct:+.1f}]"


def _visits(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{value:,.0f}"


def _signed(value: float) -> str:
    return f"{value:+,.0f}"


def _cumulative(unit: UnitResult) -> str:
    total = unit.cumulative
    if total is None or not math.isfinite(total.visits):
        return "-"
    return f"{_signed(total.visits)} [{_signed(total.ci_low)}, {_signed(total.ci_high)}]"


def _row(unit: UnitResult) -> list[str]:
    primary = unit.primary
    effect = _interval(primary)
    if primary is not None and primary.excludes_zero:
        effect = f"[bold]{effect}[/]"
    raw = unit.raw_change_pct
    return [
        unit.store,
        _visits(unit.visits_per_day_before),
        _visits(unit.visits_per_day_after),
        "-" if not math.isfinite(raw) else f"{raw:+.1f}%",
        effect,
        _cumulative(unit),
        SHORT_NAMES.get(unit.primary_method or "", unit.excluded_reason or "-"),
        *(_interval(unit.estimates.get(method)) for method in SHORT_NAMES),
        _interval(unit.placebo),
    ]


def render(report: ImpactReport, console: Console) -> None:
    """The table (stacked on a narrow terminal: no number is ever cut), then the warnings."""
    if report.ratio is not None:
        _render_ratio(report, report.ratio, console)
        _warnings(report, console)
        return
    comparison = report.comparison["description"]
    title = (
        f"policy {report.policy!r}: change on {report.change_date}, "
        f"{report.before_days} days before vs {report.after_days} after; "
        f"comparison: {comparison}; placebo {report.placebo_date}"
    )
    numeric = (
        "visits/day before",
        "after",
        "raw",
        "effect [95% CI]",
        "visits gained [95% CI]",
    )
    columns = [
        Column("store"),
        *(Column(header, numeric=True) for header in numeric),
        Column("method"),
        *(Column(method, numeric=True) for method in SHORT_NAMES.values()),
        Column("placebo", numeric=True),
    ]
    pooled = [f"[bold]{cell}[/]" if "[bold]" not in cell else cell for cell in _row(report.pooled)]
    print_table(console, columns, [*(_row(unit) for unit in report.stores), pooled], title=title)
    _warnings(report, console)


def _warnings(report: ImpactReport, console: Console) -> None:
    for warning in report.warnings:
        where = f"{warning.store}: " if warning.store else ""
        console.print(
            f"[yellow]warning[/] ({warning.kind}) {where}{warning.message}", highlight=False
        )


RATIO_METHODS = {
    method: name for method, name in SHORT_NAMES.items() if method != SYNTHETIC_CONTROL
}
"""A ratio is never read with a synthetic control (see ``analysis``)."""


def _percent(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{value * 100:.2f}%"


def _ratio_row(unit: UnitResult) -> list[str]:
    primary = unit.primary
    effect = _interval(primary)
    if primary is not None and primary.excludes_zero:
        effect = f"[bold]{effect}[/]"
    ratio = unit.ratio
    raw = unit.raw_change_pct
    return [
        unit.store,
        _percent(ratio.before) if ratio else "-",
        _percent(ratio.after) if ratio else "-",
        "-" if not math.isfinite(raw) else f"{raw:+.1f}%",
        effect,
        _interval(ratio.numerator.estimate) if ratio else "-",
        _interval(ratio.denominator.estimate) if ratio else "-",
        SHORT_NAMES.get(unit.primary_method or "", unit.excluded_reason or "-"),
        *(_interval(unit.estimates.get(method)) for method in RATIO_METHODS),
        _interval(unit.placebo),
    ]


def _render_ratio(report: ImpactReport, ratio: RatioMetric, console: Console) -> None:
    """One row per store and pooled: the ratio before and after, its effect, and the effects
    on its two counts; then the pooled answer in one line."""
    title = (
        f"policy {report.policy!r}, {ratio.definition}: change on {report.change_date}, "
        f"{report.before_days} days before vs {report.after_days} after; comparison: "
        f"{report.comparison['description']}; placebo {report.placebo_date}; days with fewer "
        f"than {MINIMUM_DENOMINATOR_PER_DAY:.0f} {ratio.denominator_label} left out"
    )
    numeric = (
        f"{ratio.label} before",
        "after",
        "raw",
        "effect [95% CI]",
        f"{ratio.numerator_label} [95% CI]",
        f"{ratio.denominator_label} [95% CI]",
    )
    columns = [
        Column("store"),
        *(Column(header, numeric=True) for header in numeric),
        Column("method"),
        *(Column(method, numeric=True) for method in RATIO_METHODS.values()),
        Column("placebo", numeric=True),
    ]
    rows = [_ratio_row(unit) for unit in report.stores]
    pooled = [
        f"[bold]{cell}[/]" if "[bold]" not in cell else cell for cell in _ratio_row(report.pooled)
    ]
    print_table(console, columns, [*rows, pooled], title=title)
    console.print(ratio_sentence(report, ratio), highlight=False)


def ratio_sentence(report: ImpactReport, ratio: RatioMetric) -> str:
    """The pooled answer: which count moved, e.g. ``pooled: transactions +12.1%, visits
    +1.9%, conversion +10.0% [+6.2, +14.0]``."""
    pooled = report.pooled
    if pooled.ratio is None or pooled.primary is None:
        return f"pooled: no estimate of {ratio.label}"
    counts = [pooled.ratio.numerator, pooled.ratio.denominator]
    moved = ", ".join(
        f"{count.name} {count.estimate.effect_pct:+.1f}%" if count.estimate else f"{count.name} -"
        for count in counts
    )
    return f"pooled: {moved}, {ratio.label} {_interval(pooled.primary)}"

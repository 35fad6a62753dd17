"""The impact report as a table (per store and pooled) followed by the warnings."""

from __future__ import annotations

import math

from rich.console import Console

from aggregator.analysis.impact.estimators import (
    DIFFERENCE_IN_DIFFERENCES,
    INTERRUPTED_TIME_SERIES,
    SEASONAL,
)
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
    for warning in report.warnings:
        where = f"{warning.store}: " if warning.store else ""
        console.print(
            f"[yellow]warning[/] ({warning.kind}) {where}{warning.message}", highlight=False
        )

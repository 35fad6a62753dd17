"""A staggered roll-out's result as a table (never cut: stacked on a narrow terminal): each
adoption group with its controls and weekly effects, the aggregate, and the naive pooled
estimate for contrast."""

from __future__ import annotations

from rich.console import Console

from aggregator.analysis.impact.regression import Estimate
from aggregator.analysis.impact.staggered import StaggeredReport
from command_line.tables import Column, print_table


def _interval(estimate: Estimate | None) -> str:
    if estimate is None:
        return "-"
    return f"{estimate.effect_pct:+.1f}% [{estimate.ci_low_pct:+.1f}, {estimate.ci_high_pct:+.1f}]"


def render_staggered(report: StaggeredReport, console: Console) -> None:
    title = (
        f"policy {report.policy!r}: staggered roll-out, {len(report.groups)} adoption dates, "
        f"{report.before_days} days before vs {report.after_days} after each; "
        "Callaway-Sant'Anna (not-yet-treated and never-treated controls)"
    )
    columns = [
        Column("adoption date"),
        Column("stores", numeric=True),
        Column("controls", numeric=True),
        Column("effect [95% CI]", numeric=True),
        Column("by week after"),
    ]
    rows = [
        [
            str(group.adoption_date),
            str(len(group.stores)),
            str(len(group.controls)),
            _interval(group.estimate),
            ", ".join(f"{week.effect_pct:+.1f}%" for week in group.weeks) or "-",
        ]
        for group in report.groups
    ]
    rows.append(["[bold]aggregate[/]", "", "", f"[bold]{_interval(report.aggregate)}[/]", ""])
    rows.append(
        ["naive pooled (first date)", "", "", _interval(report.naive_pooled), "biased: contrast"]
    )
    print_table(console, columns, rows, title=title)
    for warning in report.warnings:
        console.print(f"[yellow]warning[/] {warning}", highlight=False)

"""A staggered roll-out's result as a rich table: each adoption group with its controls and
weekly effects, the aggregate, and the naive pooled estimate for contrast."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from aggregator.analysis.impact.regression import Estimate
from aggregator.analysis.impact.staggered import StaggeredReport


def _interval(estimate: Estimate | None) -> str:
    if estimate is None:
        return "-"
    return f"{estimate.effect_pct:+.1f}% [{estimate.ci_low_pct:+.1f}, {estimate.ci_high_pct:+.1f}]"


def render_staggered(report: StaggeredReport, console: Console) -> None:
    table = Table(
        title=(
            f"policy {report.policy!r}: staggered roll-out, {len(report.groups)} adoption dates, "
            f"{report.before_days} days before vs {report.after_days} after each; "
            "Callaway-Sant'Anna (not-yet-treated and never-treated controls)"
        ),
        title_justify="left",
    )
    for header in ("adoption date", "stores", "controls", "effect [95% CI]", "by week after"):
        table.add_column(header, justify="left" if header != "effect [95% CI]" else "right")
    for group in report.groups:
        weeks = ", ".join(f"{week.effect_pct:+.1f}%" for week in group.weeks)
        table.add_row(
            str(group.adoption_date),
            str(len(group.stores)),
            str(len(group.controls)),
            _interval(group.estimate),
            weeks or "-",
        )
    table.add_section()
    table.add_row("aggregate", "", "", _interval(report.aggregate), "", style="bold")
    table.add_row(
        "naive pooled (first date)", "", "", _interval(report.naive_pooled), "biased: for contrast"
    )
    console.print(table)
    for warning in report.warnings:
        console.print(f"[yellow]warning[/] {warning}", highlight=False)

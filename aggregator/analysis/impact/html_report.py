"""``--report impact.html``: one self-contained page (the plot embedded as a PNG data URI, no
scripts, no external files) an analyst can send on: the answer in one sentence, the plot,
the table per store, how it was estimated, and every warning."""

from __future__ import annotations

import base64
import math
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from aggregator.analysis.impact.estimators import (
    DIFFERENCE_IN_DIFFERENCES,
    INTERRUPTED_TIME_SERIES,
    SEASONAL,
)
from aggregator.analysis.impact.metrics import MINIMUM_DENOMINATOR_PER_DAY, RatioMetric
from aggregator.analysis.impact.regression import Estimate
from aggregator.analysis.impact.results import ImpactReport, UnitResult
from aggregator.analysis.impact.staggered import StaggeredReport
from aggregator.analysis.impact.synthetic_control import SYNTHETIC_CONTROL

METHODS = {
    DIFFERENCE_IN_DIFFERENCES: (
        "Difference-in-differences: the change in the treated stores' daily visits minus the "
        "change in the comparison's over the same days (log scale, with weekday and public "
        "holiday terms), so weather, paydays and seasons that hit both cancel out."
    ),
    SEASONAL: (
        "Seasonal model: the level of daily visits after the change against before, adjusted "
        "for the weekly cycle and public holidays. Without a comparison, anything else that "
        "changed on the same date is attributed to the policy."
    ),
    INTERRUPTED_TIME_SERIES: "Segmented regression: level and trend change at the change date.",
    SYNTHETIC_CONTROL: (
        "Synthetic control: a weighted mix of untreated stores fitted to track the treated "
        "store before the change; the effect is how far the store moved away from its mix "
        "afterwards, judged against every untreated store given the same treatment "
        "(placebo-in-space)."
    ),
}
INTERVALS = (
    "Intervals are 95%: Newey-West standard errors with a critical value calibrated for this "
    "design by simulation (four weeks a side is too short for textbook values); for a "
    "synthetic control, the spread of the placebo stores' effects."
)
STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#222;line-height:1.4}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}tr.pooled{font-weight:bold;background:#f3f6fa}
.answer{font-size:1.15rem;background:#f3f6fa;padding:1rem;border-left:4px solid #1f4e79}
.warning{color:#8a5a00}img{max-width:100%}small{color:#666}
"""


def _interval(estimate: Estimate | None) -> str:
    if estimate is None:
        return "–"
    return f"{estimate.effect_pct:+.1f}% [{estimate.ci_low_pct:+.1f}, {estimate.ci_high_pct:+.1f}]"


def _number(value: float) -> str:
    return "–" if not math.isfinite(value) else f"{value:,.0f}"


def _gained(unit: UnitResult) -> str:
    total = unit.cumulative
    if total is None:
        return "–"
    return f"{total.visits:+,.0f} [{total.ci_low:+,.0f}, {total.ci_high:+,.0f}]"


def _ratio_answer(report: ImpactReport, ratio: RatioMetric) -> str:
    pooled = report.pooled
    primary = pooled.primary
    if primary is None or pooled.ratio is None:
        return f"No estimate: no treated store had enough days with {escape(ratio.label)}."
    verdict = "a real change" if primary.excludes_zero else "not distinguishable from no change"
    moved = ", ".join(
        f"{escape(count.name)} {count.estimate.effect_pct:+.1f}%"
        for count in (pooled.ratio.numerator, pooled.ratio.denominator)
        if count.estimate is not None
    )
    return (
        f"{escape(ratio.label.capitalize())} ({escape(ratio.numerator_label)} ÷ "
        f"{escape(ratio.denominator_label)}) in the {len(pooled.members)} treated store(s) "
        f"changed by <b>{primary.effect_pct:+.1f}%</b> (95% interval {primary.ci_low_pct:+.1f}% "
        f"to {primary.ci_high_pct:+.1f}%) after {report.change_date}: {verdict}."
        f"{f' Over the same days: {moved}.' if moved else ''}"
    )


def _answer(report: ImpactReport) -> str:
    pooled = report.pooled
    primary = pooled.primary
    if report.ratio is not None:
        return _ratio_answer(report, report.ratio)
    if primary is None:
        return "No estimate: no treated store had enough days with visits."
    verdict = "a real change" if primary.excludes_zero else "not distinguishable from no change"
    total = pooled.cumulative
    gained = (
        f" That is {total.visits:+,.0f} visits over the {total.days} days after "
        f"(95% interval {total.ci_low:+,.0f} to {total.ci_high:+,.0f})."
        if total is not None
        else ""
    )
    return (
        f"Visits in the {len(pooled.members)} treated store(s) changed by "
        f"<b>{primary.effect_pct:+.1f}%</b> (95% interval {primary.ci_low_pct:+.1f}% to "
        f"{primary.ci_high_pct:+.1f}%) after {report.change_date}: {verdict}.{escape(gained)}"
    )


def _percent(value: float) -> str:
    return "–" if not math.isfinite(value) else f"{value * 100:.2f}%"


def _cells(unit: UnitResult) -> list[str]:
    """A row's cells after the store: visits and visits gained, or a ratio and its counts."""
    ratio = unit.ratio
    if ratio is None:
        return [
            _number(unit.visits_per_day_before),
            _number(unit.visits_per_day_after),
            escape(_interval(unit.primary)),
            escape(_gained(unit)),
        ]
    return [
        _percent(ratio.before),
        _percent(ratio.after),
        escape(_interval(unit.primary)),
        escape(_interval(ratio.numerator.estimate)),
        escape(_interval(ratio.denominator.estimate)),
    ]


def _headers(ratio: RatioMetric | None) -> tuple[str, ...]:
    if ratio is None:
        return ("visits/day before", "after", "effect [95% CI]", "visits gained [95% CI]")
    return (
        f"{ratio.label} before",
        "after",
        "effect [95% CI]",
        f"{ratio.numerator_label} [95% CI]",
        f"{ratio.denominator_label} [95% CI]",
    )


def _ratio_method(ratio: RatioMetric | None) -> str:
    if ratio is None:
        return ""
    return (
        f"<p>{escape(ratio.label.capitalize())} is read as a ratio: each model is fitted to the "
        f"log of daily {escape(ratio.numerator_label)} ÷ {escape(ratio.denominator_label)} "
        f"({escape(ratio.numerator_label)} with {escape(ratio.denominator_label)} as an "
        "offset), so a change in "
        f"{escape(ratio.denominator_label)} alone does not move it; the columns beside it "
        "give each count's own effect on the same days. Days with fewer than "
        f"{MINIMUM_DENOMINATOR_PER_DAY:.0f} {escape(ratio.denominator_label)} (or no "
        f"{escape(ratio.numerator_label)}) are left out.</p>"
    )


def _rows(report: ImpactReport) -> str:
    rows = []
    for unit in [*report.stores, report.pooled]:
        css = ' class="pooled"' if unit is report.pooled else ""
        cells = [
            escape(unit.store),
            *_cells(unit),
            escape(unit.primary_method or unit.excluded_reason or "–"),
            escape(_interval(unit.placebo)),
        ]
        rows.append(f"<tr{css}>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    return "\n".join(rows)


def render_html(report: ImpactReport, plot_png: bytes | None) -> str:
    method = report.pooled.primary_method or SEASONAL
    image = (
        f'<img alt="visits and counterfactual" src="data:image/png;base64,'
        f'{base64.b64encode(plot_png).decode("ascii")}">'
        if plot_png
        else ""
    )
    warnings = "".join(
        f'<li class="warning">({escape(warning.kind)}) '
        f"{escape(warning.store + ': ' if warning.store else '')}{escape(warning.message)}</li>"
        for warning in report.warnings
    )
    headers = "".join(
        f"<th>{escape(name)}</th>"
        for name in ("store", *_headers(report.ratio), "method", "placebo")
    )
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Policy impact: {escape(report.policy)}</title><style>{STYLE}</style></head><body>
<h1>Policy impact: {escape(report.policy)}</h1>
<p><small>change on {report.change_date} (store-local); {report.before_days} days before vs
{report.after_days} after; comparison: {escape(report.pooled.comparison or "none")};
produced by footfall impact, {created}</small></p>
<p class="answer">{_answer(report)}</p>
{image}
<h2>Per store</h2>
<table><thead><tr>{headers}</tr></thead><tbody>
{_rows(report)}
</tbody></table>
<h2>How this was estimated</h2>
<p>{escape(METHODS.get(method, ""))}</p>{_ratio_method(report.ratio)}
<p>{escape(INTERVALS)} The placebo column repeats the estimate at {report.placebo_date}, before
the change, where it should find nothing.</p>
<h2>Warnings</h2>
<ul>{warnings or "<li>none</li>"}</ul>
</body></html>
"""


def save_html(report: ImpactReport, path: Path, plot_png: bytes | None) -> None:
    path.write_text(render_html(report, plot_png), encoding="utf-8")


STAGGERED_METHOD = (
    "Staggered roll-out (Callaway & Sant'Anna): each wave of stores is compared only with "
    "stores not treated anywhere in its own windows (never treated, or adopting after its "
    "window), by the same difference-in-differences as a single-date analysis. The aggregate "
    "is the mean of the waves' effects weighted by their number of stores; its interval adds "
    "the waves' half-widths (they share controls), so it never understates the uncertainty. "
    "Pooling every store around the first date (the naive row) counts later waves as "
    "untreated and is biased."
)


def render_staggered_html(report: StaggeredReport, plot_png: bytes | None) -> str:
    image = (
        f'<img alt="effects by week" src="data:image/png;base64,'
        f'{base64.b64encode(plot_png).decode("ascii")}">'
        if plot_png
        else ""
    )
    rows = "".join(
        f"<tr><td>{group.adoption_date}</td><td>{len(group.stores)}</td>"
        f"<td>{len(group.controls)}</td><td>{escape(_interval(group.estimate))}</td>"
        f"<td>{escape(', '.join(f'{week.effect_pct:+.1f}%' for week in group.weeks))}</td></tr>"
        for group in report.groups
    )
    aggregate = report.aggregate
    answer = (
        f"Across {len(report.groups)} waves, visits changed by <b>{aggregate.effect_pct:+.1f}%</b> "
        f"(95% interval {aggregate.ci_low_pct:+.1f}% to {aggregate.ci_high_pct:+.1f}%)."
        if aggregate is not None
        else "No estimate: no wave had usable stores and clean controls."
    )
    warnings = "".join(f'<li class="warning">{escape(text)}</li>' for text in report.warnings)
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Policy impact: {escape(report.policy)}</title><style>{STYLE}</style></head><body>
<h1>Policy impact: {escape(report.policy)} (staggered roll-out)</h1>
<p><small>{report.before_days} days before vs {report.after_days} after each wave's date;
produced by footfall impact, {created}</small></p>
<p class="answer">{answer}</p>
{image}
<h2>Waves</h2>
<table><thead><tr><th>adoption date</th><th>stores</th><th>controls</th>
<th>effect [95% CI]</th><th>by week after</th></tr></thead><tbody>
{rows}
<tr class="pooled"><td>aggregate</td><td></td><td></td><td>{escape(_interval(aggregate))}</td>
<td></td></tr>
<tr><td>naive pooled (first date)</td><td></td><td></td>
<td>{escape(_interval(report.naive_pooled))}</td><td>biased: for contrast</td></tr>
</tbody></table>
<h2>How this was estimated</h2>
<p>{escape(STAGGERED_METHOD)}</p>
<h2>Warnings</h2>
<ul>{warnings or "<li>none</li>"}</ul>
</body></html>
"""

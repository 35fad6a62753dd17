"""``footfall impact plan``: before a trial, how small an effect can it see, or how many weeks
does it need to see a given one? Reads the same sources as ``footfall impact``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import typer
from rich.console import Console

from aggregator.analysis.policy_cli import parse_date
from aggregator.cli_options import (
    CONFIG_OPTION,
    DATABASE_OPTION,
    TOKEN_OPTION,
    URL_OPTION,
    ConnectionOptions,
    connect,
    fail,
    load_config,
    split_list,
)

if TYPE_CHECKING:
    from aggregator.analysis.impact.history import PlanHistory, PlanSettings
    from aggregator.analysis.impact.power import PowerResult
    from aggregator.config import AggregatorConfig

console = Console()
FALSE_ALARM_WARNING = 0.15
"""Placebo dates overlap (a year holds ~8 independent 4 + 4 week windows), so 5% expected
can read as 10%; above this the plan warns."""
_EFFECT = re.compile(r"^([+-]?\d+(?:\.\d+)?)\s*%?$")


def parse_effect(text: str) -> float:
    """``5%`` or ``5`` -> 0.05 (an increase; the plan is symmetric in logs)."""
    match = _EFFECT.match(text.strip())
    if match is None or float(match.group(1)) == 0:
        raise fail(f"--effect {text!r} is not a non-zero percentage like 5%")
    return abs(float(match.group(1))) / 100


def _plan_settings(
    stores: list[str],
    controls: str,
    options: dict[str, Any],
    config: AggregatorConfig,
) -> PlanSettings:
    from pydantic import ValidationError

    from aggregator.analysis.impact.history import PlanSettings
    from aggregator.analysis.impact.settings import SettingsError, parse_days
    from protocol.settings import describe_errors

    mode: Literal["auto", "baseline", "stores"] = "stores"
    if controls in ("auto", "baseline"):
        mode = "auto" if controls == "auto" else "baseline"
    zone = options["timezone"]
    zones = {store.id: store.timezone for store in config.stores}
    if zone is not None:
        zones |= dict.fromkeys(stores, zone)
    try:
        return PlanSettings(
            stores=stores,
            control_mode=mode,
            control_stores=split_list(controls, "--controls") if mode == "stores" else [],
            max_auto_controls=options["max_controls"],
            history_days=parse_days(options["history"], "--history"),
            until=options["until"],
            timezones=zones,
            default_timezone=zone or zones.get(stores[0], "UTC"),
            country=options["country"],
            subdivision=options["subdivision"],
        )
    except SettingsError as error:
        raise fail(str(error)) from None
    except ValidationError as error:
        raise fail(f"plan settings invalid:\n{describe_errors(error)}") from None


def plan(
    *,
    stores: list[str] = typer.Option(
        [], "--store", "--stores", help="A store that would get the change (repeatable, or S1,S2)."
    ),
    controls: str = typer.Option(
        "auto", "--controls", help="auto | baseline (same days a year earlier) | S7,S8"
    ),
    max_controls: int = typer.Option(10, help="Most control stores --controls auto picks."),
    weeks: int | None = typer.Option(None, "--weeks", min=1, help="Weeks after the change."),
    before: str | None = typer.Option(None, "--before", help="Days before (default = after)."),
    effect: str | None = typer.Option(None, "--effect", help="Effect to see, e.g. 5%: weeks."),
    max_weeks: int = typer.Option(26, help="Longest trial --effect considers, in weeks."),
    history: str = typer.Option("364d", "--history", help="History to plan on (364d, 52w)."),
    until: str | None = typer.Option(None, help="Last day of history (default: last data)."),
    timezone: str | None = typer.Option(None, "--tz", help="IANA zone of the stores."),
    country: str | None = typer.Option(None, help="Holiday country (default: from --tz)."),
    subdivision: str | None = typer.Option(None, help="Holiday region, e.g. AUK."),
    from_csv: Path | None = typer.Option(None, "--from-csv", help="CSV time,store,visits."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    config_path: Path | None = CONFIG_OPTION,
    influx_url: str | None = URL_OPTION,
    database: str | None = DATABASE_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Minimum detectable effect (80% power, 5% level) of a trial of --weeks, or the weeks
    needed for an --effect, simulated from the stores' own history on placebo dates."""
    from aggregator.analysis.impact.command import make_loader
    from aggregator.analysis.impact.history import plan_history
    from aggregator.analysis.impact.power import PlanError, plan_power, weeks_needed
    from aggregator.analysis.impact.regression import EstimationError
    from aggregator.analysis.impact.settings import SettingsError, parse_days
    from aggregator.storage.influx import InfluxError

    if weeks is None and effect is None:
        raise fail("give --weeks N (the trial's length) and/or --effect 5%")
    config = load_config(ConnectionOptions(config_path, influx_url, database, token))
    store_ids = split_list(stores, "--store")
    if not store_ids:
        raise fail("give the stores that would get the change: --store S1 [--store S2]")
    options = {
        "max_controls": max_controls, "history": history, "timezone": timezone,
        "until": parse_date(until, "--until") if until else None,
        "country": country, "subdivision": subdivision,
    }  # fmt: skip
    settings = _plan_settings(store_ids, controls, options, config)
    client = connect(config) if from_csv is None else None
    try:
        before_days = parse_days(before, "--before") if before else None
        found = plan_history(settings, make_loader(from_csv, client))
        result = None
        if weeks is not None:
            result = plan_power(found.unit, before_days or 7 * weeks, 7 * weeks)
        needed = None
        if effect is not None:
            needed = weeks_needed(found.unit, parse_effect(effect), before_days, max_weeks)
    except (SettingsError, EstimationError, PlanError, InfluxError) as error:
        raise fail(str(error)) from None
    finally:
        if client is not None:
            client.close()
    report = _report(found, result, effect, needed)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        _render(report)


def _report(
    found: PlanHistory,
    result: PowerResult | None,
    effect: str | None,
    needed: tuple[int | None, list[PowerResult]] | None,
) -> dict[str, Any]:
    from aggregator.analysis.impact.power import sequence_json

    days = found.unit.days
    report: dict[str, Any] = {
        "stores": found.stores,
        "comparison": found.comparison,
        "history_first_day": days[0].date().isoformat(),
        "history_last_day": days[-1].date().isoformat(),
        "power": 0.8,
        "level": 0.05,
    }
    if result is not None:
        report["weeks"] = result.after_days // 7
        report |= result.to_json()
    if needed is not None and effect is not None:
        weeks_found, sequence = needed
        report["effect"] = effect
        report["weeks_needed"] = weeks_found
        report["mde_by_weeks"] = sequence_json(sequence)
    return report


def _render(report: dict[str, Any]) -> None:
    console.print(
        f"stores {', '.join(report['stores'])}; comparison: {report['comparison']}; history "
        f"{report['history_first_day']} .. {report['history_last_day']}",
        highlight=False,
    )
    if "mde_pct" in report:
        mde, fall = report["mde_pct"], report["mde_decrease_pct"]
        shown = "not reachable" if mde is None else f"+{mde:.1f}% (a fall of {abs(fall):.1f}%)"
        console.print(
            f"{report['weeks']} weeks after, {report['before_days']} days before, "
            f"{report['method']}: minimum detectable effect {shown} at 80% power, 5% level "
            f"({report['placebo_dates']} placebo dates {report['first_placebo_date']} .. "
            f"{report['last_placebo_date']}; rejections at zero {report['power_at_zero']:.1%})",
            highlight=False,
        )
        alarms = report["placebo_false_alarms"]
        if alarms > FALSE_ALARM_WARNING:
            empirical = report["mde_empirical_pct"]
            shown = "not reachable" if empirical is None else f"+{empirical:.1f}%"
            console.print(
                f"[yellow]warning[/] the analysis found an effect at {alarms:.0%} of the "
                "placebo dates (5% expected): this history swings more slowly than the "
                "interval assumes, so the MDE above is optimistic; measured on the placebo "
                f"dates themselves it is {shown}",
                highlight=False,
            )
    if "weeks_needed" in report:
        steps = ", ".join(
            f"{step['weeks']}w " + ("-" if step["mde_pct"] is None else f"+{step['mde_pct']:.1f}%")
            for step in report["mde_by_weeks"]
        )
        needed = report["weeks_needed"]
        answer = f"{needed} weeks" if needed else "more weeks than --max-weeks allows"
        console.print(
            f"to see {report['effect']}: {answer} (MDE by weeks: {steps})", highlight=False
        )

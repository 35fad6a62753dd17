"""``footfall impact``: did a policy change visits, by how much, and how sure are we?"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

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
    from aggregator.analysis.impact.results import ImpactReport
    from aggregator.analysis.impact.settings import ImpactSettings
    from aggregator.analysis.impact.source import VisitLoader
    from aggregator.config import AggregatorConfig
    from aggregator.storage.influx import InfluxClient

console = Console()


@dataclass(frozen=True)
class Treatment:
    """What changed where: from the registry (``--policy``) or ad hoc."""

    policy: str
    stores: list[str]
    effective_date: date
    timezones: dict[str, str]
    effective_dates: dict[str, date] | None = None
    """Per store, for a staggered roll-out (None: all on ``effective_date``)."""


@dataclass(frozen=True)
class AnalysisOptions:
    """The command-line options that shape the analysis, as typed."""

    before: str
    after: str
    controls: str
    max_controls: int
    baseline_year: int | None
    placebo_date: date | None
    country: str | None
    subdivision: str | None
    design: str = "auto"
    metric: str = "visits"


def _treatment(
    *,
    policy: str | None,
    stores: list[str],
    effective: str | None,
    timezone: str | None,
    config: AggregatorConfig,
    client: InfluxClient | None,
) -> Treatment:
    from aggregator.analysis.policies import PolicyError, PolicyRegistry

    if policy is not None:
        if stores or effective is not None:
            raise fail("give either --policy or --store with --effective, not both")
        assert client is not None
        try:
            registered = PolicyRegistry(client).get(policy)
        except PolicyError as error:
            raise fail(str(error)) from None
        zones = registered.timezones
        if timezone is not None:
            zones = dict.fromkeys(registered.stores, timezone)
        return Treatment(
            policy,
            registered.stores,
            registered.effective_date,
            zones,
            registered.effective_dates if registered.staggered else None,
        )
    if effective is None or (not stores and "=" not in effective):
        raise fail("give --policy NAME, or --store S1 [--store S2] with --effective DATE")
    dates = _store_dates(effective) if "=" in effective else None
    store_ids = split_list(stores, "--store") or list(dates or {})
    if dates is not None and set(dates) != set(store_ids):
        raise fail(f"--effective {effective!r} must give a date for each store, and only them")
    zones = {
        store: timezone if timezone is not None else config.store(store).timezone
        for store in store_ids
    }
    if dates is not None:
        return Treatment("ad hoc", store_ids, min(dates.values()), zones, dates)
    return Treatment("ad hoc", store_ids, parse_date(effective, "--effective"), zones)


def _store_dates(text: str) -> dict[str, date]:
    """``S1=2026-03-02,S2=2026-04-06`` -> per-store effective dates (a staggered roll-out)."""
    dates = {}
    for item in split_list(text, "--effective"):
        store, separator, day = item.partition("=")
        if not separator or not store.strip():
            raise fail(f"--effective item {item!r} is not STORE=DATE")
        dates[store.strip()] = parse_date(day.strip(), "--effective")
    return dates


def _excluded_controls(
    client: InfluxClient | None, treatment: Treatment, first: date, last: date
) -> list[str]:
    """Stores under another active policy that changes inside the analysed days."""
    if client is None:
        return []
    from aggregator.analysis.policies import PolicyRegistry

    return sorted(
        {
            entry.store
            for entry in PolicyRegistry(client).entries()
            if entry.policy != treatment.policy and first <= entry.effective_date <= last
        }
    )


def _settings(
    treatment: Treatment,
    config: AggregatorConfig,
    client: InfluxClient | None,
    options: AnalysisOptions,
) -> ImpactSettings:
    from pydantic import ValidationError

    from aggregator.analysis.impact.settings import ImpactSettings, SettingsError, parse_days
    from protocol.settings import describe_errors

    controls = options.controls
    mode: Literal["auto", "baseline", "stores"] = "stores"
    if controls in ("auto", "baseline"):
        mode = "auto" if controls == "auto" else "baseline"
    try:
        before = parse_days(options.before, "--before")
        after = parse_days(options.after, "--after")
        adopted = (treatment.effective_dates or {}).values()
        first = treatment.effective_date - timedelta(days=before + after)
        last = max([treatment.effective_date, *adopted]) + timedelta(days=after - 1)
        timezones = {store.id: store.timezone for store in config.stores} | treatment.timezones
        return ImpactSettings(
            policy=treatment.policy,
            stores=treatment.stores,
            effective_date=treatment.effective_date,
            store_effective_dates={
                store: day
                for store, day in (treatment.effective_dates or {}).items()
                if day != treatment.effective_date
            },
            timezones=timezones,
            default_timezone=treatment.timezones[treatment.stores[0]],
            before_days=before,
            after_days=after,
            control_mode=mode,
            control_stores=split_list(controls, "--controls") if mode == "stores" else [],
            max_auto_controls=options.max_controls,
            excluded_controls=_excluded_controls(client, treatment, first, last),
            baseline_year=options.baseline_year,
            placebo_date=options.placebo_date,
            country=options.country,
            subdivision=options.subdivision,
            design=options.design,
            metric=options.metric,
        )
    except SettingsError as error:
        raise fail(str(error)) from None
    except ValidationError as error:
        raise fail(f"impact settings invalid:\n{describe_errors(error)}") from None


def impact(
    context: typer.Context,
    *,
    policy: str | None = typer.Option(None, "--policy", help="Registered policy to analyse."),
    stores: list[str] = typer.Option(
        [], "--store", "--stores", help="Ad hoc: a treated store (repeatable, or S1,S2)."
    ),
    effective: str | None = typer.Option(
        None, "--effective", help="Ad hoc: first local day, or S1=DAY,S2=DAY (staggered)."
    ),
    timezone: str | None = typer.Option(None, "--tz", help="IANA zone of the stores."),
    before: str = typer.Option("28d", "--before", help="Days before the change (28d, 4w)."),
    after: str = typer.Option("28d", "--after", help="Days after the change."),
    controls: str = typer.Option(
        "auto", "--controls", help="auto | baseline (same days an earlier year) | S7,S8"
    ),
    max_controls: int = typer.Option(10, help="Most control stores --controls auto picks."),
    design: str = typer.Option(
        "auto", "--design", help="auto | did | synthetic (synthetic control from untreated stores)"
    ),
    metric: str = typer.Option(
        "visits",
        "--metric",
        help="visits | conversion (transactions ÷ visits) | capture_rate (entries ÷ passers-by).",
    ),
    baseline_year: int | None = typer.Option(None, help="Year of the baseline windows."),
    placebo_date: str | None = typer.Option(None, help="Placebo change date (default E - after)."),
    country: str | None = typer.Option(None, help="Holiday country, e.g. NZ (default: from --tz)."),
    subdivision: str | None = typer.Option(None, help="Holiday region, e.g. AUK."),
    from_csv: Path | None = typer.Option(None, "--from-csv", help="CSV time,store,visits."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    plot: Path | None = typer.Option(None, "--plot", help="Write a PNG plot here."),
    html: Path | None = typer.Option(
        None, "--report", help="Write a self-contained HTML page (plot, table, method) here."
    ),
    store_effects: bool = typer.Option(False, help="Write the estimates to policy_effects."),
    config_path: Path | None = CONFIG_OPTION,
    influx_url: str | None = URL_OPTION,
    database: str | None = DATABASE_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Effect of a policy on visits (or --metric conversion / capture_rate) per store and
    pooled, with 95% intervals (seasonal, interrupted time series, difference-in-differences),
    a placebo check and data warnings. `footfall impact plan` plans a trial instead."""
    if context.invoked_subcommand is not None:
        return
    from aggregator.analysis.impact.analysis import run_impact
    from aggregator.analysis.impact.regression import EstimationError
    from aggregator.analysis.impact.settings import SettingsError
    from aggregator.storage.influx import InfluxError

    _check_metric(metric, from_csv, design)
    config = load_config(ConnectionOptions(config_path, influx_url, database, token))
    placebo = parse_date(placebo_date, "--placebo-date") if placebo_date else None
    options = AnalysisOptions(
        before, after, controls, max_controls, baseline_year, placebo, country, subdivision,
        design, metric,
    )  # fmt: skip
    needs_influx = policy is not None or from_csv is None or store_effects
    client = connect(config) if needs_influx else None
    try:
        treatment = _treatment(
            policy=policy, stores=stores, effective=effective, timezone=timezone,
            config=config, client=client,
        )  # fmt: skip
        settings = _settings(treatment, config, client, options)
        if settings.staggered:
            if metric != "visits":
                raise fail(
                    f"--metric {metric} is for one effective date: analyse each wave of a "
                    "staggered roll-out with --store ... --effective DATE"
                )
            if store_effects:
                raise fail(
                    "--store-effects is for one effective date: analyse a wave of a staggered "
                    "roll-out with --store ... --effective DATE"
                )
            _staggered(settings, make_loader(from_csv, client), as_json, (plot, html))
            return
        report = run_impact(settings, make_loader(from_csv, client))
        _output(report, as_json, (plot, html), client if store_effects else None)
    except (SettingsError, EstimationError, InfluxError) as error:
        raise fail(str(error)) from None
    finally:
        if client is not None:
            client.close()


def _check_metric(metric: str, from_csv: Path | None, design: str) -> None:
    """Refuse what a metric cannot be read with, naming the option."""
    from aggregator.analysis.impact.metrics import METRIC_NAMES, ratio_metric

    if metric not in METRIC_NAMES:
        raise fail(f"--metric {metric!r} is not one of {', '.join(METRIC_NAMES)}")
    ratio = ratio_metric(metric)
    if ratio is None:
        return
    if from_csv is not None:
        raise fail(
            f"--metric {metric} needs InfluxDB ({ratio.definition}, both counted there): "
            "--from-csv carries visits only"
        )
    if design == "synthetic":
        raise fail(
            f"--design synthetic reads visits only: --metric {metric} uses the regression "
            "designs (--design auto or did)"
        )


def _staggered(
    settings: ImpactSettings,
    loader: VisitLoader,
    as_json: bool,
    files: tuple[Path | None, Path | None],
) -> None:
    from aggregator.analysis.impact.html_report import render_staggered_html
    from aggregator.analysis.impact.staggered import run_staggered
    from aggregator.analysis.impact.staggered_plot import staggered_png
    from aggregator.analysis.impact.staggered_report import render_staggered

    report = run_staggered(settings, loader)
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        render_staggered(report, console)
    plot, html = files
    image = staggered_png(report) if plot is not None or html is not None else None
    if plot is not None and image is not None:
        plot.write_bytes(image)
    if html is not None:
        html.write_text(render_staggered_html(report, image), encoding="utf-8")


def make_loader(from_csv: Path | None, client: InfluxClient | None) -> VisitLoader:
    from aggregator.analysis.impact.source import FrameVisitLoader, InfluxVisitLoader
    from aggregator.analysis.importers.visits_csv import read_visits_csv
    from aggregator.analysis.importers.writer import ImportDataError

    if from_csv is not None:
        try:
            return FrameVisitLoader(read_visits_csv(from_csv))
        except ImportDataError as error:
            raise fail(str(error)) from None
    assert client is not None
    return InfluxVisitLoader(client)


def _output(
    report: ImpactReport,
    as_json: bool,
    files: tuple[Path | None, Path | None],
    client: InfluxClient | None,
) -> None:
    """Print the table or JSON; write the plot and the HTML page when asked for."""
    from aggregator.analysis.impact.html_report import save_html
    from aggregator.analysis.impact.plot import plot_png
    from aggregator.analysis.impact.report import render
    from aggregator.analysis.impact.source import effect_points

    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        render(report, console)
    plot, html = files
    image = plot_png(report) if plot is not None or html is not None else None
    for path, label in ((plot, "plot"), (html, "report")):
        if path is None or image is None:
            continue
        if path is plot:
            path.write_bytes(image)
        else:
            save_html(report, path, image)
        if not as_json:
            console.print(f"{label} written to {path}")
    if client is not None:
        client.write(effect_points(report))


app = typer.Typer(
    help="Effect of a policy change on visits; `plan`: the power of a trial.",
    invoke_without_command=True,
)
app.callback(invoke_without_command=True)(impact)


def _register_plan() -> None:
    from aggregator.analysis.impact.plan_command import plan

    app.command("plan")(plan)


_register_plan()

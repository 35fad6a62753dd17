"""``footfall dashboards build | push``. grafana-client is imported inside ``push``."""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import SecretStr, ValidationError
from rich.console import Console

from dashboards.build import DEFAULT_TIMEZONE, GENERATED

app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Grafana dashboards: build JSON, push to Grafana.",
)
console = Console(stderr=True)


def _fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code=code)


def _check_timezone(timezone: str) -> str:
    from dashboards.build import TimezoneError, store_timezone

    try:
        return store_timezone(timezone)
    except TimezoneError as error:
        raise _fail(f"--timezone {error}") from None


@app.command("build")
def build(
    output: Path = typer.Option(GENERATED, "--output", help="Directory of the JSON files."),
    check: bool = typer.Option(
        False, "--check", help="Write nothing; exit 1 if the files differ from the code."
    ),
    timezone: str = typer.Option(
        DEFAULT_TIMEZONE,
        "--timezone",
        help="The stores' time zone (IANA): local days and the dashboards' display zone.",
    ),
) -> None:
    """Generate the dashboards' JSON from their Python definitions."""
    from dashboards.alert_rules import ALERTING, RULES_FILE, alert_rules_stale, write_alert_rules
    from dashboards.build import stale_files, write_dashboards

    timezone = _check_timezone(timezone)
    if check:
        stale = stale_files(output, timezone)
        if alert_rules_stale():
            stale.append(str(ALERTING / RULES_FILE))
        if stale:
            console.print(
                f"[bold red]stale:[/] {', '.join(stale)} in {output}; "
                "run `footfall dashboards build` and commit the result",
                highlight=False,
            )
            raise typer.Exit(code=1)
        console.print(f"[green]ok[/] dashboards in {output} are up to date")
        return
    for path in write_dashboards(output, timezone):
        console.print(f"wrote {path}")
    console.print(f"wrote {write_alert_rules()}")  # Grafana alert rules, time-zone free


@app.command("push")
def push(
    *,
    url: str = typer.Option(..., "--url", help="Grafana base URL, e.g. http://grafana:3000"),
    token: str = typer.Option(
        ..., "--token", envvar="GRAFANA_TOKEN", help="Grafana service-account token."
    ),
    influx_url: str = typer.Option("http://influxdb:8086", "--influx-url"),
    database: str = typer.Option("footfall", "--database"),
    influx_token: str | None = typer.Option(
        None, "--influx-token", envvar="INFLUX_TOKEN", help="InfluxDB 2.x/3.x token."
    ),
    influx_username: str | None = typer.Option(None, "--influx-username"),
    influx_password: str | None = typer.Option(None, "--influx-password", envvar="INFLUX_PASSWORD"),
    timezone: str = typer.Option(DEFAULT_TIMEZONE, "--timezone"),
    timeout_seconds: float = typer.Option(10.0, "--timeout-seconds"),
) -> None:
    """Create or update the datasource, the folder and the dashboards in Grafana."""
    from dashboards.build import build_dashboards
    from dashboards.push import GrafanaProvisioner, InfluxDatasource, PushError, connect

    timezone = _check_timezone(timezone)
    try:
        datasource = InfluxDatasource(
            url=influx_url,
            database=database,
            token=SecretStr(influx_token) if influx_token else None,
            username=influx_username,
            password=SecretStr(influx_password) if influx_password else None,
        )
    except ValidationError as error:
        raise _fail(error.errors()[0]["msg"]) from None
    provisioner = GrafanaProvisioner(connect(url, token, timeout_seconds))
    try:
        report = provisioner.push(datasource, build_dashboards(timezone))
    except PushError as error:
        raise _fail(f"{url}: {error}") from None
    console.print(f"folder {report.folder}; datasource {report.datasource}")
    for uid, action in report.dashboards.items():
        console.print(f"dashboard {uid} {action}")

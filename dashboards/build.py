"""Dashboards as code -> JSON files. Rendering is deterministic (sorted keys, fixed panel ids,
no timestamps), so the committed files can be checked for staleness byte for byte."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dashboards import edge_health, footfall_counts, live_occupancy, policy_impact
from dashboards.panels import Json

GENERATED = Path(__file__).resolve().parent / "generated"
DEFAULT_TIMEZONE = "UTC"
"""The stores' zone of the committed dashboards (local days in ``tz()``, display zone, day
labels); ``build --timezone`` and ``push --timezone`` set another."""


class TimezoneError(ValueError):
    """A ``--timezone`` that InfluxDB's ``tz()`` cannot use."""


def store_timezone(name: str) -> str:
    """``name`` as an IANA zone InfluxDB's ``tz()`` accepts (``utc`` becomes ``UTC``).
    ``browser`` is refused: days are grouped in InfluxDB, which needs a named zone."""
    if name.lower() == "utc":
        return "UTC"
    if name.lower() == "browser":
        raise TimezoneError(
            "'browser': days are grouped in InfluxDB (tz()), which needs a named zone; "
            "give the stores' IANA time zone, e.g. Europe/London"
        )
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimezoneError(f"{name!r} is not an IANA time zone") from None
    return name


DASHBOARDS: dict[str, Callable[[str], Json]] = {
    "live-occupancy.json": live_occupancy.build,
    "footfall.json": footfall_counts.build,
    "policy-impact.json": policy_impact.build,
    "edge-health.json": edge_health.build,
}


def build_dashboards(timezone: str = DEFAULT_TIMEZONE) -> dict[str, Json]:
    """File name -> dashboard JSON data, for every dashboard, for stores in ``timezone``."""
    zone = store_timezone(timezone)
    return {name: build(zone) for name, build in DASHBOARDS.items()}


def render(dashboard: Json) -> str:
    return json.dumps(dashboard, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_dashboards(directory: Path = GENERATED, timezone: str = DEFAULT_TIMEZONE) -> list[Path]:
    """Write every dashboard; files of dashboards no longer defined are removed."""
    directory.mkdir(parents=True, exist_ok=True)
    built = build_dashboards(timezone)
    for stale in directory.glob("*.json"):
        if stale.name not in built:
            stale.unlink()
    written = []
    for name, dashboard in built.items():
        path = directory / name
        path.write_text(render(dashboard), encoding="utf-8")
        written.append(path)
    return written


def stale_files(directory: Path = GENERATED, timezone: str = DEFAULT_TIMEZONE) -> list[str]:
    """Names of files that differ from what the code generates, are missing, or are left over
    from a dashboard no longer defined. Empty when the committed JSON is current."""
    built = build_dashboards(timezone)
    stale = sorted(
        name
        for name, dashboard in built.items()
        if not (directory / name).is_file()
        or (directory / name).read_text(encoding="utf-8") != render(dashboard)
    )
    leftover = sorted(path.name for path in directory.glob("*.json") if path.name not in built)
    return stale + leftover


def load_dashboards(directory: Path = GENERATED) -> dict[str, Json]:
    """The committed JSON files, by file name."""
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(directory.glob("*.json"))
    }

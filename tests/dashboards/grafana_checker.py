"""What Grafana shows for a dashboard's query results, computed by Grafana's own code in Node
(``tests/dashboards/grafana/checker.mjs``): the results, shaped as the InfluxDB backend
returns them (``grafana_frames.py``), go through the panel's transformations in
``@grafana/data`` and its display processor (units, value mappings, thresholds); annotation
results are parsed by the InfluxDB plugin's own logic (``influxdb_annotations.mjs``).

``make test`` installs the Node packages (``npm ci`` in ``tests/dashboards/grafana`` from the
committed lockfile); without them these helpers fail and say so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.dashboards.grafana_frames import TagOrder, backend_frames
from tests.dashboards.queries import QueryResult

CHECKER = Path(__file__).resolve().parent / "grafana"
GRAFANA_DATA = {"13.2": CHECKER, "11.6": CHECKER / "data-11.6"}
"""Installed @grafana/data versions (Grafana 13.2.3 and 11.6.9), by Grafana minor."""
DEFAULT_GRAFANA = "13.2"
TIMEOUT_SECONDS = 120
Json = dict[str, Any]


class CheckerMissingError(RuntimeError):
    """Node or the checker's npm packages are not installed."""


@dataclass(frozen=True)
class ShownField:
    """One field of a frame after the panel's transformations: what Grafana draws."""

    name: str
    display_name: str
    type: str
    values: list[Any]
    texts: list[str]
    colors: list[str | None]


@dataclass(frozen=True)
class ShownFrame:
    fields: list[ShownField]

    def field(self, display_name: str) -> ShownField:
        for field in self.fields:
            if field.display_name == display_name:
                return field
        raise KeyError(f"no field {display_name!r}; fields: {self.names()}")

    def names(self) -> list[str]:
        return [field.display_name for field in self.fields]

    def rows(self) -> list[dict[str, Any]]:
        """Rows keyed by display name (raw values), in frame order."""
        length = len(self.fields[0].values) if self.fields else 0
        return [{f.display_name: f.values[i] for f in self.fields} for i in range(length)]


def run_checker(jobs: Sequence[Json], grafana: str = DEFAULT_GRAFANA) -> list[Json]:
    """Run jobs through the Node checker with Grafana ``grafana``'s @grafana/data; one answer
    per job."""
    node = shutil.which("node")
    if node is None:
        raise CheckerMissingError("node is not installed; `make test` installs it (Debian nodejs)")
    packages = GRAFANA_DATA[grafana]
    if not (packages / "node_modules" / "@grafana" / "data").is_dir():
        raise CheckerMissingError(
            f"@grafana/data is not installed in {packages}; run `make grafana-checker` "
            "(npm ci from the committed package-lock.json)"
        )
    completed = subprocess.run(
        [node, str(CHECKER / "checker.mjs")],
        input=json.dumps({"jobs": list(jobs)}),
        env={**os.environ, "GRAFANA_DATA": str(packages)},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"Grafana checker failed:\n{completed.stderr[-4000:]}")
    answers: list[Json] = json.loads(completed.stdout)["answers"]
    return answers


def panel_frames(
    results: Sequence[QueryResult], title: str, tag_order: TagOrder = "sorted"
) -> list[Json]:
    """The backend's frames for every target of panel ``title``, in target order."""
    frames: list[Json] = []
    for result in results:
        query = result.query
        if query.source == "panel" and query.title == title:
            frames += backend_frames(
                result.series,
                ref_id=query.reference,
                table=query.table,
                alias=query.alias,
                tag_order=tag_order,
            )
    return frames


def panel_job(panel: Json, frames: list[Json], timezone: str) -> Json:
    return {
        "kind": "panel",
        "frames": frames,
        "transformations": panel.get("transformations", []),
        "fieldConfig": panel.get("fieldConfig", {}),
        "timeZone": timezone,
    }


def shown_frames(answer: Json) -> list[ShownFrame]:
    """The frames of a panel job's answer."""
    return [
        ShownFrame(
            [
                ShownField(
                    name=field["name"],
                    display_name=field["displayName"],
                    type=field["type"],
                    values=field["values"],
                    texts=field["texts"],
                    colors=field["colors"],
                )
                for field in frame["fields"]
            ]
        )
        for frame in answer["frames"]
    ]


def shown_panels(
    dashboard: Json,
    results: Sequence[QueryResult],
    panels: Sequence[Json],
    tag_order: TagOrder = "sorted",
    grafana: str = DEFAULT_GRAFANA,
) -> dict[str, list[ShownFrame]]:
    """Panel title -> the frames Grafana ``grafana`` draws, for ``panels`` of ``dashboard``:
    one Node run for all of them."""
    timezone = dashboard.get("timezone", "utc")
    jobs = [
        panel_job(panel, panel_frames(results, panel["title"], tag_order), timezone)
        for panel in panels
    ]
    answers = run_checker(jobs, grafana)
    return {
        panel["title"]: shown_frames(answer) for panel, answer in zip(panels, answers, strict=True)
    }


def annotation_job(annotation: Json, result: QueryResult | None) -> Json:
    """The annotation and the backend's frames for its query (refId ``metricFindQuery``)."""
    frames = []
    if result is not None:
        frames = backend_frames(result.series, ref_id="metricFindQuery", table=False)
    return {"kind": "annotation", "annotation": annotation, "frames": frames}


def annotation_events(annotation: Json, result: QueryResult | None) -> list[Json] | None:
    """The annotation's events as Grafana's InfluxDB plugin makes them; None when the plugin
    would not run it."""
    (answer,) = run_checker([annotation_job(annotation, result)])
    events: list[Json] | None = answer["events"]
    return events


def table_rows(frame: ShownFrame, panel: Json) -> list[dict[str, Any]]:
    """Rows of a table panel as the table shows them: Grafana's organised frame, sorted by the
    panel's ``sortBy`` (the table panel's own sort: empty cells last)."""
    rows = frame.rows()
    for order in reversed(panel.get("options", {}).get("sortBy", [])):
        column, descending = order["displayName"], bool(order.get("desc"))
        present = [row for row in rows if row.get(column) is not None]
        empty = [row for row in rows if row.get(column) is None]
        present.sort(key=lambda row: row[column], reverse=descending)
        rows = present + empty
    return rows

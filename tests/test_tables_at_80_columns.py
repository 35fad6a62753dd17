"""Tables never cut a number: every table the commands print, rendered at 80 columns (and
piped), shows each number whole — as a table when it fits, else stacked."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from aggregator.analysis.impact.synthetic import synthetic_visits
from command_line.tables import Column, print_table
from edge.recording_cli import AUDIT_COLUMNS
from footfall.cli import app

CHANGE = date(2025, 10, 6)
NUMBER = re.compile(r"[+\-−]?\d[\d,]*(?:\.\d+)?%?")


def _render(columns: list[Column], rows: list[list[str]], width: int) -> str:
    console = Console(width=width, record=True, force_terminal=False)
    with console.capture() as capture:
        print_table(console, columns, rows, title="a title that is long enough to wrap at 80")
    return capture.get()


def _whole(numbers: list[str], output: str) -> list[str]:
    """The numbers that do not appear whole on any one line of ``output``."""
    lines = output.splitlines()
    return [number for number in numbers if not any(number in line for line in lines)]


WIDE_ROWS = [
    [
        "Queen Street Mid-block outside the bookshop",
        "in",
        "1234567",
        "1234560",
        "+7",
        "99.9",
    ],
    ["door", "out", "14", "14", "+0", "100.0"],
]


@pytest.mark.parametrize("width", [40, 60, 80, 120, 200])
def test_audit_table_numbers_are_whole_at_any_width(width: int) -> None:
    output = _render(AUDIT_COLUMNS, WIDE_ROWS, width)
    numbers = [cell for row in WIDE_ROWS for cell in row[2:]]
    assert _whole(numbers, output) == []
    assert all(len(line) <= width for line in output.splitlines())
    assert "Queen Street Mid-block" in output.replace("\n", " ") or "Queen" in output


def test_a_table_that_fits_stays_a_table_and_a_narrow_one_is_stacked() -> None:
    wide = _render(AUDIT_COLUMNS, WIDE_ROWS, 200)
    narrow = _render(AUDIT_COLUMNS, WIDE_ROWS, 40)
    assert "accuracy %" in wide.splitlines()[2]  # a header row
    assert wide.count("1234567") == 1
    assert re.search(r"^accuracy %\s+99\.9$", narrow, flags=re.MULTILINE)
    assert re.search(r"^counted\s+1234560$", narrow, flags=re.MULTILINE)


def test_rows_must_match_the_columns() -> None:
    with pytest.raises(ValueError, match="row has 2 cells for 6 columns"):
        _render(AUDIT_COLUMNS, [["door", "in"]], 80)


@pytest.fixture(scope="module")
def visits_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    hourly = synthetic_visits(
        ["north-mall-long-name", "south", "c", "d"], first_day=date(2025, 8, 1), days=100,
        change_date=CHANGE, effects={"north-mall-long-name": 0.25, "south": 0.25}, seed=3,
        timezone="Europe/Berlin",
    )  # fmt: skip
    path = tmp_path_factory.mktemp("csv") / "visits.csv"
    times = hourly["time_utc"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    pd.DataFrame({"time": times, "store": hourly["store"], "visits": hourly["visits"]}).to_csv(
        path, index=False
    )
    return path


def test_impact_at_80_columns_shows_every_effect_whole(visits_csv: Path) -> None:
    arguments = [
        "impact", "--from-csv", str(visits_csv), "--store", "north-mall-long-name,south",
        "--effective", str(CHANGE), "--tz", "Europe/Berlin", "--controls", "c,d",
    ]  # fmt: skip
    runner = CliRunner(env={"COLUMNS": "80"})
    table = runner.invoke(app, arguments)
    assert table.exit_code == 0, table.output
    report = json.loads(runner.invoke(app, [*arguments, "--json"]).stdout)
    effects = []
    for unit in [report["pooled"], *report["stores"]]:
        effects += [
            f"{unit['effect_pct']:+.1f}% [{unit['ci_low_pct']:+.1f}, {unit['ci_high_pct']:+.1f}]",
            f"{unit['cumulative']['visits']:+,.0f}",
            f"{unit['placebo']['effect_pct']:+.1f}%",
        ]
    assert len(effects) == 9
    assert _whole(effects, table.stdout) == []
    assert "…" not in table.stdout
    assert all(len(line) <= 80 for line in table.stdout.splitlines())

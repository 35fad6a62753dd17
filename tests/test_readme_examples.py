"""The README's command lines run as written, in a folder holding the files they name: those
that need no server on their own, the InfluxDB ones against the test InfluxDB (through the
``aggregator.yaml`` they name). Lines that need a camera, a model run over a whole clip or a
Grafana are parsed only (tests/test_cli_grammar.py)."""

from __future__ import annotations

import json
import shlex
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from aggregator.analysis.impact.synthetic import synthetic_visits
from aggregator.storage.influx import InfluxClient
from footfall.cli import app
from tests.test_cli_grammar import README_LINES

ROOT = Path(__file__).resolve().parents[1]
CHANGE = date(2026, 3, 1)
STORES = ["north", "south", "S1", "S2", "c1", "c2", "c3"]


def readme_line(start: str) -> list[str]:
    """The README line that begins with ``start``, as words (without ``footfall``)."""
    matches = [line for line in README_LINES if line.startswith(start)]
    assert len(matches) == 1, f"README lines starting {start!r}: {matches}"
    return shlex.split(matches[0])[1:]


@pytest.fixture
def folder(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    influx: InfluxClient,
    request: pytest.FixtureRequest,
) -> Path:
    """A working folder with the files the README names: edge.yaml, visits.csv (with the
    test's injected effects, ``@pytest.mark.effects``) and an aggregator.yaml whose store
    registry and InfluxDB are the test's."""
    marker = request.node.get_closest_marker("effects")
    effects: dict[str, float] = marker.args[0] if marker else {}
    shutil.copy(ROOT / "examples" / "pets09.yaml", tmp_path / "edge.yaml")
    hourly = synthetic_visits(
        STORES, first_day=date(2025, 12, 1), days=120, change_date=CHANGE, effects=effects,
        seed=11, timezone="Pacific/Auckland",
    )  # fmt: skip
    times = hourly["time_utc"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    pd.DataFrame({"time": times, "store": hourly["store"], "visits": hourly["visits"]}).to_csv(
        tmp_path / "visits.csv", index=False
    )
    stores = "".join(f"  - {{id: {store}, timezone: Pacific/Auckland}}\n" for store in STORES)
    (tmp_path / "aggregator.yaml").write_text(
        f"influx: {{url: '{influx.settings.url}', database: {influx.settings.database}}}\n"
        f"stores:\n{stores}"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(words: list[str]) -> tuple[str, str]:
    """Standard output, and everything printed (standard error too)."""
    result = CliRunner().invoke(app, words)
    assert result.exit_code == 0, f"footfall {shlex.join(words)}\n{result.output}"
    return result.stdout, result.output


def test_check_config_example(folder: Path) -> None:
    _, output = run(readme_line("footfall edge check-config"))
    assert "store demo-store" in output


@pytest.mark.effects({"S1": -0.15, "S2": -0.15})
def test_impact_from_csv_example(folder: Path) -> None:
    words = readme_line("footfall impact --from-csv visits.csv --store")
    report = json.loads(run([*words, "--json"])[0])
    pooled = report["pooled"]
    assert pooled["stores"] == ["S1", "S2"]
    assert pooled["ci_low_pct"] < -15 < pooled["ci_high_pct"]  # the injected -15%


@pytest.mark.effects({"north": 0.2, "south": 0.2})
def test_import_policy_and_impact_examples(folder: Path, influx: InfluxClient) -> None:
    _, output = run(readme_line("footfall import csv"))
    assert f"for {len(STORES)} stores" in output
    run(readme_line("footfall policy add"))
    words = [word for word in readme_line("footfall impact --policy") if word != "--plot"]
    words = [word for word in words if word != "impact.png"]
    report = json.loads(run(words)[0])
    pooled = report["pooled"]
    assert pooled["stores"] == ["north", "south"]
    assert pooled["ci_low_pct"] < 20 < pooled["ci_high_pct"]  # the injected +20%


def test_import_transactions_and_conversion_impact_examples(
    folder: Path, influx: InfluxClient
) -> None:
    # visits unchanged; the tills of north and south sell to 25% of visitors from the change
    # on instead of 20%: conversion +25%
    run(readme_line("footfall import csv"))
    run(readme_line("footfall policy add"))
    hourly = pd.read_csv(folder / "visits.csv")
    local = pd.to_datetime(hourly["time"], utc=True).dt.tz_convert("Pacific/Auckland")
    raised = hourly["store"].isin(["north", "south"]) & (local.dt.date >= CHANGE)
    rate = np.where(raised, 0.25, 0.20)
    tills = hourly.assign(transactions=np.random.default_rng(12).binomial(hourly["visits"], rate))
    tills = tills[tills["visits"] > 0].rename(columns={"time": "hour"})
    tills[["store", "hour", "transactions"]].to_csv(folder / "tills.csv", index=False)
    _, output = run(readme_line("footfall import transactions"))
    assert f"for {len(STORES)} stores" in output
    report = json.loads(run([*readme_line("footfall impact --metric conversion"), "--json"])[0])
    pooled = report["pooled"]
    assert (report["metric"], pooled["stores"]) == ("conversion", ["north", "south"])
    assert pooled["ci_low_pct"] < 25 < pooled["ci_high_pct"]
    assert pooled["ci_low_pct"] > 0
    visits = pooled["denominator"]
    assert visits["ci_low_pct"] < 0 < visits["ci_high_pct"]

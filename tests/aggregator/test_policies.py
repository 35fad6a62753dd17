"""The policy registry against the real InfluxDB, through the class and the CLI."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aggregator.analysis.policies import PolicyError, PolicyRegistry
from aggregator.storage.influx import InfluxClient
from footfall.cli import app

AUCKLAND = "Pacific/Auckland"


def _add(registry: PolicyRegistry, name: str, stores: list[str], day: date) -> None:
    registry.add(name, stores, day, dict.fromkeys(stores, AUCKLAND), f"{name} description")


def test_add_writes_one_point_per_store_at_local_midnight(influx: InfluxClient) -> None:
    registry = PolicyRegistry(influx)
    _add(registry, "late-opening", ["north", "south"], date(2026, 3, 1))
    series = influx.query(
        'SELECT "effective_date", "timezone", "removed" FROM "policy_changes" GROUP BY "store"'
    )
    rows = {one.tags["store"]: one.values for one in series}
    # 2026-03-01 00:00 in Auckland (NZDT, +13) is 2026-02-28 11:00 UTC
    expected = [["2026-02-28T11:00:00Z", "2026-03-01", AUCKLAND, False]]
    assert rows == {"north": expected, "south": expected}
    policy = registry.get("late-opening")
    assert policy.stores == ["north", "south"]
    assert policy.effective_date == date(2026, 3, 1)
    assert policy.description == "late-opening description"


def test_remove_hides_the_policy_but_keeps_it(influx: InfluxClient) -> None:
    registry = PolicyRegistry(influx)
    _add(registry, "tills", ["north", "south"], date(2026, 4, 2))
    _add(registry, "greeter", ["east"], date(2026, 5, 3))
    removed = registry.remove("tills", ["south"])
    assert [entry.store for entry in removed] == ["south"]
    assert [(p.name, p.stores) for p in registry.policies()] == [
        ("tills", ["north"]),
        ("greeter", ["east"]),
    ]
    registry.remove("tills")
    assert [p.name for p in registry.policies()] == ["greeter"]
    everything = registry.entries(include_removed=True)
    assert sorted((e.policy, e.store, e.removed) for e in everything) == [
        ("greeter", "east", False),
        ("tills", "north", True),
        ("tills", "south", True),
    ]
    annotations = influx.query('SELECT "description" FROM "policy_changes" WHERE "removed" = false')
    assert [row[1] for row in annotations[0].values] == ["greeter description"]
    _add(registry, "tills", ["north"], date(2026, 4, 2))  # adding again revives it
    assert registry.get("tills").stores == ["north"]


def test_registry_rejects_conflicts_and_names_them(influx: InfluxClient) -> None:
    registry = PolicyRegistry(influx)
    _add(registry, "queue-rule", ["north"], date(2026, 3, 1))
    # a second wave on another date is a staggered roll-out of the same policy
    _add(registry, "queue-rule", ["south"], date(2026, 3, 8))
    staggered = registry.get("queue-rule")
    assert staggered.effective_date == date(2026, 3, 1)
    assert staggered.effective_dates == {"north": date(2026, 3, 1), "south": date(2026, 3, 8)}
    assert staggered.staggered
    with pytest.raises(PolicyError, match="already covers store 'north'"):
        _add(registry, "queue-rule", ["north"], date(2026, 3, 1))
    with pytest.raises(PolicyError, match="unknown IANA time zone 'Mars/Olympus'"):
        registry.add("x", ["a"], date(2026, 3, 1), {"a": "Mars/Olympus"})
    with pytest.raises(PolicyError, match="does not cover store"):
        registry.remove("queue-rule", ["nowhere"])
    with pytest.raises(PolicyError, match=r"no policy named 'missing' \(known: queue-rule\)"):
        registry.get("missing")


def test_policy_cli_round_trip(influx: InfluxClient, tmp_path: Path) -> None:
    config = tmp_path / "aggregator.yaml"
    config.write_text(
        f"influx:\n  url: {influx.settings.url}\n  database: {influx.settings.database}\n"
        "stores:\n  - id: shop-1\n    timezone: Europe/London\n  - id: shop-2\n"
    )
    runner = CliRunner()
    add = [
        "policy", "add", "--name", "sunday-hours", "--stores", "shop-1,shop-2",
        "--effective", "2026-03-29", "--description", "open 10-18", "--config", str(config),
    ]  # fmt: skip
    result = runner.invoke(app, add)
    assert result.exit_code == 0, result.output
    listed = runner.invoke(app, ["policy", "list", "--json", "--config", str(config)])
    rows = json.loads(listed.stdout)
    # shop-1's zone comes from the config; shop-2 is registered without one: the default (UTC)
    assert [(row["store"], row["timezone"]) for row in rows] == [
        ("shop-1", "Europe/London"),
        ("shop-2", "UTC"),
    ]
    removed = runner.invoke(
        app, ["policy", "remove", "--name", "sunday-hours", "--config", str(config)]
    )
    assert removed.exit_code == 0, removed.output
    table = runner.invoke(app, ["policy", "list", "--config", str(config)])
    assert "no policies registered" in table.output
    again = runner.invoke(
        app, ["policy", "remove", "--name", "sunday-hours", "--config", str(config)]
    )
    assert again.exit_code == 2
    assert "no active policy named 'sunday-hours'" in again.output


def test_policy_cli_adds_a_second_wave(influx: InfluxClient, tmp_path: Path) -> None:
    config = tmp_path / "aggregator.yaml"
    config.write_text(
        f"influx:\n  url: {influx.settings.url}\n  database: {influx.settings.database}\n"
        "stores:\n  - id: shop-1\n    timezone: Europe/London\n"
        "  - id: shop-2\n    timezone: Europe/London\n"
    )
    runner = CliRunner()
    for store, day in (("shop-1", "2026-03-02"), ("shop-2", "2026-05-04")):
        add = [
            "policy", "add", "--name", "queue-rule", "--store", store, "--effective", day,
            "--config", str(config),
        ]  # fmt: skip
        result = runner.invoke(app, add)
        assert result.exit_code == 0, result.output
    assert "2 waves (staggered roll-out): 2026-03-02: shop-1; 2026-05-04: shop-2" in " ".join(
        result.output.split()
    )


def test_policy_cli_rejects_a_bad_date(influx: InfluxClient) -> None:
    arguments = [
        "policy", "add", "--name", "x", "--stores", "a", "--effective", "1 March",
        "--influx-url", influx.settings.url, "--database", influx.settings.database,
    ]  # fmt: skip
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 2
    assert "--effective '1 March' is not a date like 2026-03-01" in result.output


def test_policy_cli_refuses_a_store_missing_from_the_registry(
    influx: InfluxClient, tmp_path: Path
) -> None:
    config = tmp_path / "aggregator.yaml"
    config.write_text(
        f"influx:\n  url: {influx.settings.url}\n  database: {influx.settings.database}\n"
        "stores:\n  - id: shop-1\n  - id: shop-2\n"
    )
    add = [
        "policy", "add", "--name", "late", "--stores", "shop-1,shop-9,shop-0",
        "--effective", "2026-03-01", "--config", str(config),
    ]  # fmt: skip
    result = CliRunner().invoke(app, add)
    assert result.exit_code == 2
    assert "--stores: unknown store(s) shop-9, shop-0 (known stores: shop-1, shop-2)" in (
        " ".join(result.output.split())
    )
    assert PolicyRegistry(influx).entries(include_removed=True) == []


def test_policy_cli_without_a_registry_accepts_any_store(influx: InfluxClient) -> None:
    """No ``stores`` section (``--influx-url`` alone): nothing to check against; UTC."""
    add = [
        "policy", "add", "--name", "late", "--stores", "anywhere", "--effective", "2026-03-01",
        "--influx-url", influx.settings.url, "--database", influx.settings.database,
    ]  # fmt: skip
    result = CliRunner().invoke(app, add)
    assert result.exit_code == 0, result.output
    (entry,) = PolicyRegistry(influx).entries()
    assert (entry.store, entry.timezone) == ("anywhere", "UTC")

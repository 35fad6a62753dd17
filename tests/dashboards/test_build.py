"""The committed JSON is what the code generates (this test fails when it is stale), the build
is deterministic, and dashboards, provisioning files and push agree on uids and settings."""

from __future__ import annotations

import shutil
from itertools import combinations
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from dashboards.build import GENERATED, TimezoneError, build_dashboards, render, stale_files
from dashboards.panels import DATASOURCE_UID, FOLDER_TITLE, FOLDER_UID, Json
from dashboards.push import MINIMUM_INTERVAL, InfluxDatasource
from footfall.cli import app
from tests.dashboards.macros import references
from tests.dashboards.queries import iter_panels

PROVISIONING = Path(__file__).resolve().parents[2] / "dashboards" / "provisioning"
GLOBALS = {"timeFilter", "__interval", "__interval_ms", "__from", "__to"}


def test_committed_json_is_current() -> None:
    assert stale_files() == [], "run `footfall dashboards build` and commit dashboards/generated"


def test_build_check_command(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["dashboards", "build", "--check"]).exit_code == 0

    copy = tmp_path / "generated"
    shutil.copytree(GENERATED, copy)
    (copy / "footfall.json").write_text("{}\n", encoding="utf-8")
    (copy / "retired.json").write_text("{}\n", encoding="utf-8")
    result = runner.invoke(app, ["dashboards", "build", "--check", "--output", str(copy)])
    assert result.exit_code == 1
    assert "footfall.json" in result.output
    assert "retired.json" in result.output

    written = runner.invoke(app, ["dashboards", "build", "--output", str(copy)])
    assert written.exit_code == 0
    assert sorted(path.name for path in copy.iterdir()) == sorted(
        path.name for path in GENERATED.iterdir()
    )
    assert stale_files(copy) == []


def test_build_rejects_an_unknown_timezone() -> None:
    result = CliRunner().invoke(app, ["dashboards", "build", "--timezone", "Mars/Olympus"])
    assert result.exit_code == 2
    assert "IANA" in result.output


def test_build_refuses_browser_time_and_spells_utc_for_influxdb() -> None:
    """``tz('browser')`` and ``tz('utc')`` are not zones InfluxDB knows: every Footfall query
    would fail."""
    result = CliRunner().invoke(app, ["dashboards", "build", "--timezone", "browser"])
    assert result.exit_code == 2
    assert "named zone" in result.output
    with pytest.raises(TimezoneError, match="browser"):
        build_dashboards("browser")
    utc = build_dashboards("utc")["footfall.json"]
    assert utc["timezone"] == "utc"
    timezone = next(v for v in utc["templating"]["list"] if v["name"] == "timezone")
    assert timezone["query"] == "UTC"


def test_build_is_deterministic_and_timezone_is_a_parameter() -> None:
    first, second = build_dashboards(), build_dashboards()
    assert {name: render(data) for name, data in first.items()} == {
        name: render(data) for name, data in second.items()
    }
    london = build_dashboards("Europe/London")["footfall.json"]
    assert london["timezone"] == "Europe/London"
    timezone = next(v for v in london["templating"]["list"] if v["name"] == "timezone")
    assert (timezone["type"], timezone["query"]) == ("constant", "Europe/London")
    daily = next(panel for panel in london["panels"] if panel["title"] == "Entries per day")
    (label,) = [t for t in daily["transformations"] if t["id"] == "formatTime"]
    assert label["options"]["timezone"] == "Europe/London", "labels in the tz() zone"


def test_there_are_four_dashboards_with_distinct_uids(committed: dict[str, Json]) -> None:
    assert sorted(committed) == [
        "edge-health.json",
        "footfall.json",
        "live-occupancy.json",
        "policy-impact.json",
    ]
    uids = [dashboard["uid"] for dashboard in committed.values()]
    assert len(set(uids)) == 4


def test_every_query_uses_the_datasource_and_explicit_variable_formats(
    committed: dict[str, Json],
) -> None:
    """A plain ``$store`` is escaped differently by different Grafana versions; an explicit
    ``${store:regex}`` / ``${timezone:raw}`` is not."""
    for dashboard in committed.values():
        names = {variable["name"] for variable in dashboard["templating"]["list"]}
        texts = [variable["query"] for variable in dashboard["templating"]["list"]]
        texts += [annotation["target"]["query"] for annotation in dashboard["annotations"]["list"]]
        for panel in iter_panels(dashboard):
            assert panel["datasource"]["uid"] == DATASOURCE_UID, panel["title"]
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == DATASOURCE_UID
                assert target["rawQuery"] is True
                texts.append(target["query"])
        for text in texts:
            for name, format_name in references(text):
                if name in GLOBALS:
                    continue
                assert name in names, f"{dashboard['uid']}: ${name} is not a variable"
                assert format_name in ("regex", "raw"), f"{dashboard['uid']}: {text}"


def test_panels_have_unique_ids_and_do_not_overlap(committed: dict[str, Json]) -> None:
    for dashboard in committed.values():
        panels = list(iter_panels(dashboard))
        assert len({panel["id"] for panel in panels}) == len(panels)
        for first, second in combinations(panels, 2):
            a, b = first["gridPos"], second["gridPos"]
            apart = (
                a["x"] + a["w"] <= b["x"]
                or b["x"] + b["w"] <= a["x"]
                or a["y"] + a["h"] <= b["y"]
                or b["y"] + b["h"] <= a["y"]
            )
            assert apart, f"{first['title']!r} overlaps {second['title']!r}"
            assert a["x"] + a["w"] <= 24


def test_provisioning_files_match_the_dashboards_and_push() -> None:
    sources = yaml.safe_load((PROVISIONING / "datasources" / "footfall.yaml").read_text())
    (source,) = sources["datasources"]
    pushed = InfluxDatasource(url=source["url"], database="footfall").grafana_json()
    assert source["uid"] == pushed["uid"] == DATASOURCE_UID
    assert source["name"] == pushed["name"]
    assert source["type"] == pushed["type"] == "influxdb"
    assert source["jsonData"] == pushed["jsonData"]
    assert source["jsonData"]["version"] == "InfluxQL"
    assert source["jsonData"]["timeInterval"] == MINIMUM_INTERVAL

    providers = yaml.safe_load((PROVISIONING / "dashboards" / "footfall.yaml").read_text())
    (provider,) = providers["providers"]
    assert (provider["folder"], provider["folderUid"]) == (FOLDER_TITLE, FOLDER_UID)
    assert provider["type"] == "file"


def test_dashboards_are_as_editable_as_provisioning_allows(committed: dict[str, Json]) -> None:
    """Provisioning does not save UI edits, so the dashboards do not offer them."""
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "footfall.yaml").read_text())
    (provider,) = providers["providers"]
    for dashboard in committed.values():
        assert dashboard["editable"] is provider["allowUiUpdates"] is False


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ({"token": "t", "username": "u"}, "not both"),
        ({"password": "p"}, "needs a username"),
        ({"database": ""}, "at least 1 character"),
    ],
)
def test_datasource_settings_reject_contradictions(settings: dict[str, str], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        InfluxDatasource.model_validate(settings)

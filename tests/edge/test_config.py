"""Config validation: errors name the key path and the bad value; check-config exits non-zero."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from edge.adhoc import build_config, parse_line_option
from edge.config import load_config, parse_config
from footfall.cli import app
from protocol.settings import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pets09.yaml"


def minimal(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "store_id": "s1",
        "cameras": [
            {
                "id": "door",
                "source": {"uri": "clip.avi"},
                "lines": [{"id": "a", "points": [[0, 0], [100, 0]], "inside": [50, 50]}],
            }
        ],
    }
    data.update(overrides)
    return data


def test_example_config_is_valid() -> None:
    config = load_config(EXAMPLE)
    assert config.cameras[0].lines[0].geometry().unit_normal == (-1.0, 0.0)
    assert len(config.fingerprint()) == 16


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"detector": {"imgsz": 1000}},
            "detector -> imgsz: Input should be a multiple of 32 (got 1000)",
        ),
        (
            {"detector": {"confidense": 0.3}},
            "detector -> confidense: Extra inputs are not permitted",
        ),
        (
            {"counting": {"margin_px": -2}},
            "counting -> margin_px: Input should be greater than or equal to 0 (got -2)",
        ),
        ({"cameras": []}, "cameras: List should have at least 1 item"),
        ({"store_id": "a/b"}, "store_id: String should match pattern"),
        (
            {"tracker": {"kind": "sort"}},
            "tracker -> kind: Input should be 'bytetrack', 'ocsort' or 'botsort' (got \"sort\")",
        ),
    ],
)
def test_errors_name_key_path_and_value(change: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(minimal(**change))
    assert expected in str(caught.value)


def test_line_errors_name_the_camera_and_line() -> None:
    data = minimal()
    data["cameras"][0]["lines"].append({"id": "b", "points": [[5, 5], [5, 5]], "inside": [0, 0]})  # type: ignore[index]
    with pytest.raises(
        ConfigError, match=r"cameras -> 0 -> lines -> 1: Value error, line .* shorter than 1 px"
    ):
        parse_config(data)


def test_duplicate_ids_rejected() -> None:
    data = minimal()
    data["cameras"][0]["lines"].append(dict(data["cameras"][0]["lines"][0]))  # type: ignore[index]
    with pytest.raises(ConfigError, match="duplicate line id"):
        parse_config(data)


def test_fingerprint_ignores_credentials_but_not_lines() -> None:
    base = parse_config(minimal())
    with_mqtt = parse_config(minimal(mqtt={"host": "broker", "password": "secret"}))
    moved = minimal()
    moved["cameras"][0]["lines"][0]["points"] = [[0, 1], [100, 1]]  # type: ignore[index]
    assert base.fingerprint() == with_mqtt.fingerprint()
    assert base.fingerprint() != parse_config(moved).fingerprint()


def test_check_config_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    good = runner.invoke(app, ["edge", "check-config", "-c", str(EXAMPLE)])
    assert good.exit_code == 0, good.output
    assert "ok" in good.output
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(minimal(counting={"interval_seconds": 0})))
    bad = runner.invoke(app, ["edge", "check-config", "-c", str(broken)])
    assert bad.exit_code == 2
    assert "counting -> interval_seconds" in bad.output
    not_yaml = tmp_path / "bad.yaml"
    not_yaml.write_text("store_id: [unclosed\n")
    assert (
        "not valid YAML" in runner.invoke(app, ["edge", "check-config", "-c", str(not_yaml)]).output
    )
    missing = runner.invoke(app, ["edge", "check-config", "-c", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2
    assert "cannot read config" in missing.output


def test_line_option() -> None:
    assert parse_line_option("door=384,150,384,576@100,363") == {
        "id": "door",
        "points": [[384.0, 150.0], [384.0, 576.0]],
        "inside": [100.0, 363.0],
    }
    with pytest.raises(ConfigError, match="expected NAME=x1,y1,x2,y2@ix,iy"):
        parse_line_option("door=1,2,3")
    config, camera = build_config("clip.avi", None, ["a=0,0,10,0@5,5", "b=0,9,10,9@5,1"])
    assert camera == "camera"
    assert [line.id for line in config.cameras[0].lines] == ["a", "b"]
    config, camera = build_config("other.avi", EXAMPLE, ["extra=1,1,50,1@20,30"])
    assert config.cameras[0].source.uri == "other.avi"
    assert [line.id for line in config.cameras[0].lines] == ["door", "extra"]

"""``footfall edge calibrate`` on real footage with the real detector: CAVIAR's shop door
(383 frames, people ~20×60 px, MOT truth 1 in / 1 out), one input size so that the detector
runs once. The chosen settings must reach the truth exactly, ``--write`` must leave a config
that check-config accepts, and replaying the clip with the written config must count what
the search predicted for those settings (detections filtered by confidence behave like a
detector run at that confidence)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge.config import load_config
from edge.replay import replay
from footfall.cli import app

pytestmark = pytest.mark.slow

CAVIAR = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "footage"
    / "CAVIAR-EnterExitCrossingPaths1front"
)
VIDEO = CAVIAR / "EnterExitCrossingPaths1front.mpg"
CONFIG = """\
# CAVIAR's shop door, seen from the mall
store_id: caviar
cameras:
  - id: shop
    source: {{uri: {video}}}
    lines:
      - id: door
        points: [[185, 128], [384, 128]]
        inside: [280, 90]   # the shop is above the line
outbox: {{path: {outbox}}}
"""


def caviar_video() -> Path:
    if not VIDEO.exists():
        reason = f"CAVIAR footage not found at {VIDEO} (../shared is absent)"
        if os.environ.get("CI", "").lower() in {"true", "1"}:
            pytest.fail(f"{reason}; CI=true, so the footage tests must run", pytrace=False)
        pytest.skip(reason)
    return VIDEO


def test_calibrated_settings_reach_the_truth_and_replay_to_the_same_counts(
    tmp_path: Path,
) -> None:
    video = caviar_video()
    path = tmp_path / "edge.yaml"
    original = CONFIG.format(video=video, outbox=tmp_path / "outbox.sqlite3")
    path.write_text(original)
    arguments = ["edge", "calibrate", str(video), "-c", str(path)]
    arguments += ["--truth", str(CAVIAR / "gt" / "gt.txt"), "--imgsz", "1280"]
    arguments += ["--tracker", "bytetrack,ocsort", "--write", "--json"]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    print(json.dumps({key: document[key] for key in ("chosen", "defaults", "written")}, indent=1))
    chosen = document["chosen"]
    assert document["truth"] == "mot"
    assert chosen["lines"] == {"door": {"in": 1, "out": 1}}
    assert (chosen["crossings_wrong"], chosen["crossings_unmatched"]) == (0, 0)
    assert abs(chosen["people_bias"]) <= abs(document["defaults"]["people_bias"])
    assert chosen["people_mae"] <= document["defaults"]["people_mae"] + 0.01
    written = document["written"]
    assert {key: change["to"] for key, change in written["changed"].items()} == (
        document["changes"]
    )
    assert (tmp_path / "edge.yaml.bak").exists() == bool(written["changed"])
    if written["changed"]:
        assert (tmp_path / "edge.yaml.bak").read_text() == original
    assert "# the shop is above the line" in path.read_text()
    check = CliRunner().invoke(app, ["edge", "check-config", "-c", str(path)])
    assert check.exit_code == 0, check.output
    calibrated = load_config(path)
    for key, value in chosen["settings"].items():
        section, name = key.split(".")
        current = getattr(getattr(calibrated, section), name)
        assert getattr(current, "value", current) == value, key
    report = replay(calibrated, "shop")
    assert report.lines == chosen["lines"]

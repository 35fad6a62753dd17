"""The accuracy bar of issue 13, on real footage with the shipped default settings (whole
pipeline: decoding, detector, tracker, counting).

- PETS09-S2L1, the README's six lines (door x=384, store on the left, and five more in every
  orientation): at most 3 of the 152 true crossings wrong, ``door`` within 1 per direction,
  per-frame people-count MAE <= 0.43 over the whole clip.
- CAVIAR EnterExitCrossingPaths1front (a shop door seen from the mall, people ~20x60 px,
  passers-by walking along the shop front): exactly 1 entry and 1 exit.

True crossings come from the annotations with the reference 5 px rule (``edge.audit``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rich.console import Console
from rich.table import Table

from edge.adhoc import build_config
from edge.audit import AuditResult, LineAudit, audit, load_mot, true_crossings
from edge.counting.counters import Direction
from edge.replay import replay
from tests.integration.pets import PetsRun

pytestmark = pytest.mark.slow

SHARED_FOOTAGE = Path(__file__).resolve().parents[3] / "shared" / "footage"
CAVIAR = SHARED_FOOTAGE / "CAVIAR-EnterExitCrossingPaths1front"
CAVIAR_DOOR = "door=185,128,384,128@280,90"


def print_audit(title: str, outcome: AuditResult) -> None:
    table = Table(title=title)
    for column in ("line", "true in", "counted in", "true out", "counted out"):
        table.add_column(column)
    for line in outcome.lines:
        table.add_row(
            line.line_id,
            str(line.true_entries),
            str(line.counted_entries),
            str(line.true_exits),
            str(line.counted_exits),
        )
    Console(width=120).print(table)


def test_default_settings_meet_the_accuracy_bar(pets_run: PetsRun, footage: Path) -> None:
    # backend: auto runs OpenVINO here (optionally "+regions"/"+tiles"); a silent fallback to
    # ONNX Runtime or torch would meet the bar below too, at a third of the speed
    assert pets_run.report.detector.split("+")[0] == "openvino", pets_run.report.detector
    camera = pets_run.config.camera(pets_run.camera_id)
    outcome = audit(pets_run.report, load_mot(footage / "gt" / "gt.txt"), camera)
    report = pets_run.report
    print_audit(f"PETS09-S2L1 audit ({report.detector}, {report.tracker})", outcome)
    wrong = sum(
        abs(line.counted_entries - line.true_entries) + abs(line.counted_exits - line.true_exits)
        for line in outcome.lines
    )
    true_total = sum(line.true_entries + line.true_exits for line in outcome.lines)
    print(
        f"{wrong} of {true_total} crossings wrong; people MAE {outcome.people_mae:.3f}, "
        f"tracked MAE {outcome.tracked_people_mae:.3f}, {report.fps:.2f} fps"
    )
    assert true_total == 152
    assert wrong <= 3
    door = next(line for line in outcome.lines if line.line_id == "door")
    assert (door.true_entries, door.true_exits) == (18, 14)
    assert abs(door.counted_entries - 18) <= 1
    assert abs(door.counted_exits - 14) <= 1
    assert LineAudit.accuracy_percent(18, door.counted_entries) >= 94.0
    assert outcome.frames == 795
    assert outcome.people_mae <= 0.43
    for line in outcome.lines:  # and no line, in any orientation, more than 2 out
        assert abs(line.counted_entries - line.true_entries) <= 2, line
        assert abs(line.counted_exits - line.true_exits) <= 2, line


def test_track_state_stays_bounded(pets_run: PetsRun) -> None:
    """Retired tracks are forgotten: the per-person state never holds more than the people
    in view plus the tracker's lost-track buffer."""
    assert 0 < pets_run.report.max_track_state <= 6 * 30


def test_shop_door_counts_the_visitors_not_the_passers_by() -> None:
    video = CAVIAR / "EnterExitCrossingPaths1front.mpg"
    if not video.exists():
        reason = f"CAVIAR footage not found at {video} (../shared is absent)"
        if os.environ.get("CI", "").lower() in {"true", "1"}:
            pytest.fail(f"{reason}; CI=true, so the footage tests must run", pytrace=False)
        pytest.skip(reason)
    config, camera_id = build_config(str(video), None, [CAVIAR_DOOR])
    report = replay(config, camera_id)
    assert report.detector.split("+")[0] == "openvino", report.detector
    camera = config.camera(camera_id)
    truth = true_crossings(load_mot(CAVIAR / "gt" / "gt.txt"), camera)["door"]
    assert (truth[Direction.ENTRY], truth[Direction.EXIT]) == (1, 1)
    outcome = audit(report, load_mot(CAVIAR / "gt" / "gt.txt"), camera)
    print_audit(f"CAVIAR shop door audit ({report.detector}, {report.tracker})", outcome)
    print(f"people MAE {outcome.people_mae:.3f}, {report.fps:.2f} fps")
    assert report.lines["door"] == {"in": 1, "out": 1}

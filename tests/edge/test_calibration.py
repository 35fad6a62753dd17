"""Calibration without a model: the search and the choice on recorded detections made up for
the test, writing the choice into a config file, and bad truth refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from edge.audit import TruthBox
from edge.calibration.config_file import set_keys, write_config_keys
from edge.calibration.search import Recording, Truth, search
from edge.calibration.settings import SearchGrid, Settings
from edge.config import EdgeConfig, TrackerKind, load_config, parse_config
from edge.counting.counters import Direction
from edge.replay import CrossingEvent, DetectedFrame
from edge.tally import TallyCrossing, tally_events
from edge.vision.detections import People, ReferencePoint
from edge.vision.regions import Rectangle
from footfall.cli import app
from protocol.settings import ConfigError

FRAMES_PER_SECOND = 10.0
HEIGHT_PX = 100.0


def walker(
    frame: int, start: int, from_y: float, to_y: float, x: float
) -> tuple[float, ...] | None:
    """Box of a person 40×100 px whose feet go from ``from_y`` to ``to_y`` in 30 frames from
    ``start``, at ``x``; None outside those frames."""
    step = frame - start
    if not 0 <= step < 30:
        return None
    feet = from_y + (to_y - from_y) * step / 29
    return (x - 20.0, feet - HEIGHT_PX, x + 20.0, feet)


def people_of(frame: int, faint_score: float) -> tuple[list[tuple[float, ...]], list[float]]:
    """An entry (feet from y 300 up to 100, score 0.9) in frames 0-29, and an exit (feet from
    y 80 down to 320, at ``faint_score``) in frames 40-69, across the line y = 200."""
    boxes, scores = [], []
    for box, score in (
        (walker(frame, 0, 300.0, 100.0, 200.0), 0.9),
        (walker(frame, 40, 80.0, 320.0, 400.0), faint_score),
    ):
        if box is not None:
            boxes.append(box)
            scores.append(score)
    return boxes, scores


def config() -> EdgeConfig:
    return parse_config(
        {
            "store_id": "s1",
            "cameras": [
                {
                    "id": "door",
                    "source": {"uri": "clip.avi"},
                    "lines": [
                        {"id": "door", "points": [[0, 200], [640, 200]], "inside": [320, 50]}
                    ],
                }
            ],
        }
    )


def recording(faint_score: float, regions: tuple[Rectangle, ...] = ()) -> Recording:
    frames = []
    for frame in range(80):
        boxes, scores = people_of(frame, faint_score)
        people = People(
            boxes=np.array(boxes, dtype=np.float64).reshape(-1, 4),
            scores=np.array(scores, dtype=np.float64),
        )
        frames.append(DetectedFrame(frame + 1, 1000.0 + frame / FRAMES_PER_SECOND, people))
    return Recording(1280, 0.05, frames, FRAMES_PER_SECOND, FRAMES_PER_SECOND, regions)


def mot_truth() -> list[TruthBox]:
    truth = []
    for frame in range(80):
        boxes, _ = people_of(frame, 1.0)
        for track_id, box in enumerate(boxes):
            x1, y1, x2, y2 = box
            truth.append(TruthBox(frame + 1, track_id, (x1, y1, x2, y2)))
    return truth


def grid(edge: EdgeConfig, **values: object) -> SearchGrid:
    restricted: dict[str, object] = {
        "imgsz": [1280],
        "kind": [TrackerKind.BYTETRACK],
        "confirm_frames": [1],
    }
    return SearchGrid.around(edge, **{**restricted, **values})  # type: ignore[arg-type]


def test_a_person_seen_only_at_low_confidence_makes_calibration_lower_it() -> None:
    edge = config()
    truth = Truth.from_mot(mot_truth(), edge.cameras[0])
    assert [(event.line_id, event.direction) for event in truth.events] == [
        ("door", Direction.ENTRY),
        ("door", Direction.EXIT),
    ]
    calibration = search(edge, "door", {1280: recording(0.12)}, truth, grid(edge))
    defaults = calibration.defaults
    assert defaults.settings == Settings.shipped()
    assert defaults.score.lines == {"door": (1, 0)}  # the faint person is never seen
    assert (defaults.score.crossings_wrong, defaults.score.crossings_unmatched) == (1, 1)
    # 80 frames: the faint person's 30 missed, and the entry's first frame (ByteTrack gives
    # a new track its id on its second frame)
    assert defaults.score.people_mae == pytest.approx(31 / 80)
    assert defaults.score.people_bias == pytest.approx(-31 / 80)
    chosen = calibration.chosen
    assert chosen.score.lines == {"door": (1, 1)}
    assert (chosen.score.crossings_wrong, chosen.score.crossings_unmatched) == (0, 0)
    # each person's first frame: ByteTrack gives a new track its id on its second frame
    assert chosen.score.people_mae == pytest.approx(2 / 80)
    assert chosen.score.people_bias == pytest.approx(-2 / 80)
    # the nearest confidences that see 0.12: one step down each, not two
    assert (chosen.settings.detector_confidence, chosen.settings.track_confidence) == (0.1, 0.1)
    assert chosen.settings.band_height_fraction == 0.08  # the rest stays at the defaults
    assert chosen.settings.reference_point is ReferencePoint.BOTTOM_CENTRE
    assert chosen.distance == (2, 2)
    assert chosen.settings.changes(edge) == {
        ("detector", "confidence"): (0.15, 0.1),
        ("tracker", "high_confidence"): (0.15, 0.1),
        ("tracker", "new_track_confidence"): (0.15, 0.1),
    }
    assert len(calibration.outcomes) == 14 + 12 * 9  # 14 tracking, then 12 × 10 variants


def test_ties_keep_the_defaults() -> None:
    edge = config()
    truth = Truth.from_mot(mot_truth(), edge.cameras[0])
    calibration = search(edge, "door", {1280: recording(0.9)}, truth, grid(edge))
    assert calibration.chosen.settings == Settings.shipped()
    assert calibration.chosen.distance == (0, 0)
    assert calibration.chosen.score.crossings_wrong == 0
    assert calibration.chosen.settings.changes(edge) == {}


def test_a_tally_scores_crossings_only_matched_in_time() -> None:
    edge = config()
    tally = [
        TallyCrossing(1.5, "door", Direction.ENTRY),  # frame 16: the entry crosses at 15
        TallyCrossing(5.5, "door", Direction.EXIT),  # frame 56: the exit crosses at 55
    ]
    truth = Truth(tally_events(tally, FRAMES_PER_SECOND))
    calibration = search(edge, "door", {1280: recording(0.12)}, truth, grid(edge))
    assert calibration.defaults.score.people_mae is None
    assert calibration.defaults.score.crossings_unmatched == 1
    assert calibration.chosen.score.crossings_unmatched == 0
    assert calibration.chosen.settings.track_confidence == 0.1
    assert calibration.chosen.score.crossings_wrong == 0


def test_people_are_counted_where_the_detector_looks() -> None:
    """With regions of interest, annotated people outside them are not held against the
    count: only the entry's walk (x 200) lies in the region, the exit (x 400) outside."""
    edge = config()
    truth = Truth.from_mot(mot_truth(), edge.cameras[0])
    region = (Rectangle(100, 0, 300, 480),)
    calibration = search(edge, "door", {1280: recording(0.9, region)}, truth, grid(edge))
    # the entry's first frame only (its track gets an id on its second frame)
    assert calibration.defaults.score.people_mae == pytest.approx(1 / 80)
    assert calibration.defaults.score.people_bias == pytest.approx(-1 / 80)
    everywhere = search(edge, "door", {1280: recording(0.9)}, truth, grid(edge))
    assert everywhere.defaults.score.people_bias == pytest.approx(-2 / 80)  # both people


def test_the_grid_always_holds_the_defaults_and_the_current_values() -> None:
    edge = parse_config(
        {
            **config().model_dump(mode="json"),
            "detector": {"imgsz": 960},
            "tracker": {"kind": "ocsort"},
        }
    )
    searched = SearchGrid.around(edge, imgsz=[640], kind=[TrackerKind.BOTSORT])
    assert searched.imgsz == (640, 960, 1280)
    assert searched.kind == (TrackerKind.BYTETRACK, TrackerKind.OCSORT, TrackerKind.BOTSORT)
    assert SearchGrid.around(edge).imgsz == (960, 1216, 1280)
    ultralytics = parse_config(
        {**config().model_dump(mode="json"), "tracker": {"implementation": "ultralytics"}}
    )
    assert SearchGrid.around(ultralytics).confirm_frames == (1,)
    with pytest.raises(ValueError, match="'ultralytics' has no ocsort"):
        SearchGrid.around(ultralytics, kind=[TrackerKind.OCSORT])


CONFIG_TEXT = """\
# the shop door
store_id: s1
cameras:
  - id: door
    source:
      uri: {uri}
    lines:
      - id: door
        points: [[0, 200], [640, 200]]   # along the threshold
        inside: [320, 50]
  - id: till
    source: {{uri: {uri}}}
detector: {{imgsz: 1280, confidence: 0.15}}   # flow style stays flow style
tracker:
  kind: bytetrack  # the default
outbox: {{path: {outbox}}}
"""


def test_write_sets_only_the_calibrated_keys_and_keeps_comments(tmp_path: Path) -> None:
    clip = tmp_path / "clip.avi"
    clip.write_bytes(b"")
    path = tmp_path / "edge.yaml"
    original = CONFIG_TEXT.format(uri=clip, outbox=tmp_path / "outbox.sqlite3")
    path.write_text(original)
    changes = {
        ("detector", "confidence"): 0.1,
        ("tracker", "kind"): TrackerKind.OCSORT,
        ("tracker", "high_confidence"): 0.1,
        ("counting", "band_height_fraction"): 0.06,
    }
    backup = write_config_keys(path, changes)
    assert backup == tmp_path / "edge.yaml.bak"
    assert backup.read_text() == original
    text = path.read_text()
    assert "detector: {imgsz: 1280, confidence: 0.1}   # flow style stays flow style" in text
    assert "  kind: ocsort  # the default\n  high_confidence: 0.1\n" in text
    assert text.endswith("counting:\n  band_height_fraction: 0.06\n")
    assert "points: [[0, 200], [640, 200]]   # along the threshold" in text
    loaded = load_config(path)
    assert (loaded.detector.confidence, loaded.tracker.kind) == (0.1, TrackerKind.OCSORT)
    assert loaded.counting.band_height_fraction == 0.06
    result = CliRunner().invoke(app, ["edge", "check-config", "-c", str(path)])
    assert result.exit_code == 0, result.output
    assert list(tmp_path.glob(".edge.yaml.*")) == []  # no temporary file left behind


def test_write_refuses_what_would_not_validate_and_leaves_the_file(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    original = CONFIG_TEXT.format(uri=tmp_path / "clip.avi", outbox=tmp_path / "o.sqlite3")
    path.write_text(original)
    with pytest.raises(ConfigError, match="detector -> imgsz"):
        write_config_keys(path, {("detector", "imgsz"): 1000})
    assert path.read_text() == original
    assert not (tmp_path / "edge.yaml.bak").exists()
    with pytest.raises(ConfigError, match="store_id is not a mapping"):
        set_keys(original, {("store_id", "x"): 1}, "edge.yaml")


def test_set_keys_on_block_sections_with_nested_mappings() -> None:
    text = "store_id: s\ndetector:\n  regions:\n    enabled: false\n# end\n"
    changed = set_keys(text, {("detector", "imgsz"): 1536})
    assert yaml.safe_load(changed) == {
        "store_id": "s",
        "detector": {"regions": {"enabled": False}, "imgsz": 1536},
    }
    assert "# end\n" in changed


def test_bad_truth_is_refused_naming_the_file(tmp_path: Path) -> None:
    clip = tmp_path / "clip.avi"
    clip.write_bytes(b"")
    path = tmp_path / "edge.yaml"
    path.write_text(CONFIG_TEXT.format(uri=clip, outbox=tmp_path / "o.sqlite3"))
    runner = CliRunner()
    broken = tmp_path / "gt.txt"
    broken.write_text("1,1,10,20,30,40\n2,x,10,20,30,40\n")
    result = runner.invoke(
        app, ["edge", "calibrate", str(clip), "-c", str(path), "--truth", str(broken)]
    )
    assert result.exit_code == 2
    assert f"{broken}:2: not a MOT row" in result.output
    tally = tmp_path / "tally.csv"
    tally.write_text("time_seconds,line,direction\n1.0,back,in\n")
    result = runner.invoke(
        app, ["edge", "calibrate", str(clip), "-c", str(path), "--truth", str(tally)]
    )
    assert result.exit_code == 2
    assert "tally.csv:2: unknown line 'back' (the camera's lines: door)" in result.output
    result = runner.invoke(
        app,
        ["edge", "calibrate", str(clip), "-c", str(path), "--truth", str(tally), "--imgsz", "1000"],
    )
    assert result.exit_code == 2
    assert "--imgsz 1000: detector -> imgsz: Input should be a multiple of 32" in result.output
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    result = runner.invoke(
        app, ["edge", "calibrate", str(clip), "-c", str(path), "--truth", str(empty)]
    )
    assert result.exit_code == 2
    assert "no annotated people" in result.output
    assert path.read_text() == CONFIG_TEXT.format(uri=clip, outbox=tmp_path / "o.sqlite3")


def test_truth_crossing_events_are_crossing_events() -> None:
    truth = Truth([CrossingEvent(10, "door", Direction.ENTRY)])
    assert truth.totals(config().cameras[0]) == {"door": (1, 0)}

"""The people scale (``counting.people_scale``): zone occupancy scaled, calibration choosing
the scale on recorded detections where one person in four is hidden, and its bounds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from edge.audit import TruthBox, audit
from edge.calibration.config_file import write_config_keys
from edge.calibration.people_scale import fit_people_scale
from edge.calibration.search import Recording, Truth, search
from edge.calibration.settings import SearchGrid, Settings
from edge.config import EdgeConfig, TrackerKind, load_config, parse_config
from edge.counting.camera import CameraCounter
from edge.counting.intervals import IntervalAccumulator, to_message
from edge.counting.tracking import TrackUpdate
from edge.replay import DetectedFrame, FrameRecord, ReplayReport
from edge.vision.detections import People
from protocol.settings import ConfigError

START = datetime(2024, 5, 1, 9, 0, tzinfo=UTC).timestamp()
FRAMES = 80
FRAMES_PER_SECOND = 10.0
STANDING_X = (100.0, 200.0, 300.0, 400.0)
"""Four people standing in a row, feet at y 350, below the line y = 200."""


def interval_zone(people_scale: float, counts: list[int]) -> tuple[float, int]:
    accumulator = IntervalAccumulator(60, [], ["till"], people_scale=people_scale)
    for index, count in enumerate(counts):
        accumulator.add_frame(START + index, [], {"till": count})
    (totals,) = accumulator.flush()
    message = to_message(
        totals,
        store_id="s1",
        camera_id="door",
        sequence=1,
        software_version="test",
        config_fingerprint="0123abcd",
    )
    zone = message.zones["till"]
    return zone.mean, zone.max


@pytest.mark.parametrize(
    ("people_scale", "counts", "mean", "maximum"),
    [
        (1.0, [3, 1, 2, 2], 2.0, 3),
        (1.25, [3, 1, 2, 2], 2.5, 4),  # 8 × 1.25 / 4; max 3 × 1.25 = 3.75 -> 4
        (1.25, [2, 2, 0, 0], 1.25, 3),  # max 2 × 1.25 = 2.5 rounds half up -> 3
        (4 / 3, [3, 3, 3, 0], 3.0, 4),  # 9 × 4/3 / 4 = 3; 3 × 4/3 = 4
        (0.8, [1, 1, 0, 0], 0.4, 1),  # 0.8 -> 1
        (1.5, [0, 0, 0, 0], 0.0, 0),
    ],
)
def test_zone_occupancy_is_the_count_times_the_scale(
    people_scale: float, counts: list[int], mean: float, maximum: int
) -> None:
    assert interval_zone(people_scale, counts) == (mean, maximum)


def test_the_camera_counter_scales_its_zones_but_not_its_lines() -> None:
    edge = config({"people_scale": 1.5})
    floor = {"id": "floor", "polygon": [[0, 300], [640, 300], [640, 480], [0, 480]]}
    camera = parse_config(
        {
            **edge.model_dump(mode="json"),
            "cameras": [{**edge.cameras[0].model_dump(mode="json"), "zones": [floor]}],
        }
    ).cameras[0]
    counter = CameraCounter(camera, edge.counting)
    for index in range(4):
        people = replace(standing(3), track_ids=np.arange(1, 4, dtype=np.int64))
        counter.process(START + index, TrackUpdate(people))
    (totals,) = counter.flush()
    assert totals.zone_sums == {"floor": 12}  # as counted
    assert (totals.zone_mean("floor"), totals.zone_max("floor")) == (4.5, 5)  # 3 × 1.5 = 4.5
    assert counter.totals["door"].entries == 0


def config(counting: dict[str, object] | None = None) -> EdgeConfig:
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
            **({"counting": counting} if counting else {}),
        }
    )


def standing(seen: int) -> People:
    """The first ``seen`` of the four standing people, 40×100 px, score 0.9."""
    boxes = [(x - 20.0, 250.0, x + 20.0, 350.0) for x in STANDING_X[:seen]]
    return People(
        boxes=np.array(boxes, dtype=np.float64).reshape(-1, 4),
        scores=np.full(len(boxes), 0.9, dtype=np.float64),
    )


def crowd(seen: int) -> tuple[Recording, Truth]:
    """Four people standing for 80 frames; the detector sees ``seen`` of them."""
    frames = [
        DetectedFrame(frame + 1, 1000.0 + frame / FRAMES_PER_SECOND, standing(seen))
        for frame in range(FRAMES)
    ]
    recording = Recording(1280, 0.05, frames, FRAMES_PER_SECOND, FRAMES_PER_SECOND)
    boxes = [
        TruthBox(frame + 1, person, (x - 20.0, 250.0, x + 20.0, 350.0))
        for frame in range(FRAMES)
        for person, x in enumerate(STANDING_X)
    ]
    return recording, Truth.from_mot(boxes, config().cameras[0])


def grid(edge: EdgeConfig) -> SearchGrid:
    return SearchGrid.around(edge, imgsz=[1280], kind=[TrackerKind.BYTETRACK], confirm_frames=[1])


def test_calibration_scales_a_crowd_where_one_person_in_four_is_hidden() -> None:
    edge = config()
    recording, truth = crowd(seen=3)
    calibration = search(edge, "door", {1280: recording}, truth, grid(edge))
    assert calibration.chosen.settings == Settings.shipped()  # every setting ties
    fit = calibration.people_scale
    assert fit is not None
    # 3 tracked per frame from the second frame on (ByteTrack names a track on its second
    # frame): 237 counted, 320 true; 320 / 237 = 1.3502 -> 1.350, near the 4/3 hidden
    assert fit.scale == 1.35
    assert fit.bias_before == pytest.approx(-83 / 80)
    assert fit.mae_before == pytest.approx(83 / 80)
    assert fit.bias_after == pytest.approx((237 * 1.35 - 320) / 80)  # -0.0006
    assert abs(fit.bias_after) < 0.001
    assert fit.mae_after == pytest.approx((4 + 79 * 0.05) / 80)  # first frame 4, then 0.05
    assert calibration.changes(edge) == {("counting", "people_scale"): (1.0, 1.35)}


def test_an_unbiased_count_keeps_the_scale_at_one() -> None:
    edge = config({"people_scale": 1.2})
    recording, truth = crowd(seen=4)
    calibration = search(edge, "door", {1280: recording}, truth, grid(edge))
    fit = calibration.people_scale
    assert fit is not None
    # only the first frame misses its 4: bias -4/80 = -0.05, not above the 0.05 threshold
    assert (fit.scale, fit.bias_before, fit.bias_after) == (1.0, -0.05, -0.05)
    assert not fit.changed
    # a config scaled before goes back to 1.0: the scale is measured on raw counts
    assert calibration.changes(edge) == {("counting", "people_scale"): (1.2, 1.0)}
    assert (
        search(config(), "door", {1280: recording}, truth, grid(config())).changes(config()) == {}
    )


def test_a_tally_measures_no_scale_and_keeps_the_configured_one() -> None:
    edge = config({"people_scale": 1.2})
    recording, _ = crowd(seen=3)
    calibration = search(edge, "door", {1280: recording}, Truth([]), grid(edge))
    assert calibration.people_scale is None
    assert calibration.changes(edge) == {}


@pytest.mark.parametrize(
    ("counted", "true", "scale"),
    [
        ([1, 1, 1, 1], [2, 2, 2, 2], 2.0),
        ([1, 1, 1, 1], [3, 3, 3, 3], 2.0),  # 3.0 clipped to the bound
        ([4, 4], [1, 1], 0.5),  # 0.25 clipped
        ([3, 3, 2], [4, 4, 3], 1.375),  # 11 / 8
        ([0, 0], [1, 1], 1.0),  # nothing counted: no ratio
        ([], [], 1.0),
    ],
)
def test_fit_is_true_over_counted_within_bounds(
    counted: list[int], true: list[int], scale: float
) -> None:
    assert fit_people_scale(counted, true).scale == scale


def test_fit_refuses_frames_that_do_not_pair() -> None:
    with pytest.raises(ValueError, match="3 frames counted but 2 in the truth"):
        fit_people_scale([1, 1, 1], [1, 1])


@pytest.mark.parametrize("value", [0.4, 2.5, 0])
def test_the_scale_outside_its_bounds_is_refused_naming_the_key(value: float) -> None:
    with pytest.raises(ConfigError, match="counting -> people_scale: Input should be"):
        config({"people_scale": value})


def test_write_sets_the_scale_in_the_config(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text(
        "store_id: s1\ncameras:\n  - id: door\n    source: {uri: clip.avi}\n"
        f"outbox: {{path: {tmp_path / 'o.sqlite3'}}}\n"
        "counting:\n  interval_seconds: 60  # one a minute\n"
    )
    write_config_keys(path, {("counting", "people_scale"): 1.35})
    assert path.read_text().endswith(
        "counting:\n  interval_seconds: 60  # one a minute\n  people_scale: 1.35\n"
    )
    assert load_config(path).counting.people_scale == 1.35


def test_the_audit_reports_people_as_zone_occupancy_scales_them() -> None:
    """Four annotated people per frame, three tracked: at scale 4/3 the scaled count is
    exact; the tracked MAE stays as counted."""
    _, truth = crowd(seen=3)
    assert truth.boxes is not None
    records = [FrameRecord(frame + 1, 3, 3, {}) for frame in range(FRAMES)]
    report = ReplayReport(
        lines={"door": {"in": 0, "out": 0}},
        per_frame=records,
        source_frames_per_second=10.0,
        people_scale=4 / 3,
    )
    outcome = audit(report, truth.boxes, config().cameras[0])
    assert outcome.tracked_people_mae == 1.0
    assert outcome.scaled_people_mae == pytest.approx(0.0)
    assert outcome.scaled_people_bias == pytest.approx(0.0)
    unscaled = audit(replace(report, people_scale=1.0), truth.boxes, config().cameras[0])
    assert (unscaled.scaled_people_mae, unscaled.scaled_people_bias) == (1.0, -1.0)

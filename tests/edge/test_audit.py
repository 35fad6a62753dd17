"""The audit's ground-truth crossings agree with the reference script in ../shared for many
lines, so the line rule is the same one the truth is defined by."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from edge.audit import TruthError, load_mot, match_crossings, true_crossings
from edge.config import parse_config
from edge.counting.counters import Direction
from edge.replay import CrossingEvent

LINES = [
    ((384, 150, 384, 576), (100, 363)),
    ((0, 300, 768, 300), (384, 100)),
    ((100, 400, 700, 400), (384, 500)),
    ((200, 150, 600, 550), (600, 200)),
    ((550, 100, 550, 500), (700, 300)),
    ((200, 200, 200, 576), (50, 300)),
    ((700, 0, 60, 576), (700, 500)),
]


@pytest.mark.parametrize(("points", "inside"), LINES)
def test_truth_matches_reference_script(
    footage: Path, points: tuple[float, float, float, float], inside: tuple[float, float]
) -> None:
    script = footage.parent / "derive_counts.py"
    reference = json.loads(
        subprocess.run(
            [
                sys.executable,
                str(script),
                str(footage / "gt" / "gt.txt"),
                "--line",
                *map(str, points),
                "--json",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    config = parse_config(
        {
            "store_id": "s",
            "cameras": [
                {
                    "id": "c",
                    "source": {"uri": "x"},
                    "lines": [{"id": "l", "points": [points[:2], points[2:]], "inside": inside}],
                }
            ],
        }
    )
    ours = true_crossings(load_mot(footage / "gt" / "gt.txt"), config.cameras[0])["l"]
    # the script's positive side is screen-right of p1->p2; map it to our inside side
    probe = reference["positive_side_example_point"]
    line = config.cameras[0].lines[0].geometry()
    positive_is_inside = line.signed_distance(np.array([probe], dtype=float))[0] > 0
    entries = reference["crossings"]["neg_to_pos" if positive_is_inside else "pos_to_neg"]
    exits = reference["crossings"]["pos_to_neg" if positive_is_inside else "neg_to_pos"]
    assert (ours[Direction.ENTRY], ours[Direction.EXIT]) == (entries, exits)
    assert entries + exits > 0


def test_reference_line_truth(footage: Path) -> None:
    config = parse_config(
        {
            "store_id": "s",
            "cameras": [
                {
                    "id": "c",
                    "source": {"uri": "x"},
                    "lines": [
                        {"id": "door", "points": [[384, 150], [384, 576]], "inside": [100, 363]}
                    ],
                }
            ],
        }
    )
    truth = true_crossings(load_mot(footage / "gt" / "gt.txt"), config.cameras[0])
    assert truth["door"] == {Direction.ENTRY: 18, Direction.EXIT: 14}


def test_bad_truth_file_names_line(tmp_path: Path) -> None:
    path = tmp_path / "gt.txt"
    path.write_text("1,1,10,10,5,5,1,1,1\n2,1,oops,10,5,5,1,1,1\n")
    with pytest.raises(TruthError, match=r"gt.txt:2: not a MOT row"):
        load_mot(path)
    with pytest.raises(TruthError, match="cannot read ground truth"):
        load_mot(tmp_path / "missing.txt")


E, X = Direction.ENTRY, Direction.EXIT


@pytest.mark.parametrize(
    ("true", "counted", "expected"),
    [
        # the same crossing counted 5 frames later: matched
        ([(100, "door", E)], [(105, "door", E)], [("matched", 100, 105)]),
        # too late (tolerance 14 frames): one missed, one extra
        ([(100, "door", E)], [(130, "door", E)], [("missed", 100, None), ("extra", None, 130)]),
        # wrong direction or another line never matches
        ([(100, "door", E)], [(101, "door", X)], [("missed", 100, None), ("extra", None, 101)]),
        ([(100, "door", E)], [(101, "left", E)], [("missed", 100, None), ("extra", None, 101)]),
        # two true, two counted: as many pairs as the tolerance allows
        (
            [(100, "door", E), (110, "door", E)],
            [(109, "door", E), (120, "door", E)],
            [("matched", 100, 109), ("matched", 110, 120)],
        ),
        (
            [(100, "door", E), (103, "door", E)],
            [(104, "door", E)],
            [("matched", 100, 104), ("missed", 103, None)],
        ),
    ],
)
def test_match_crossings(
    true: list[tuple[int, str, Direction]],
    counted: list[tuple[int, str, Direction]],
    expected: list[tuple[str, int | None, int | None]],
) -> None:
    matches = match_crossings(
        [CrossingEvent(*event) for event in true],
        [CrossingEvent(*event) for event in counted],
        tolerance_frames=14,
    )
    assert [(m.outcome, m.true_frame, m.counted_frame) for m in matches] == expected


def test_people_outside_the_regions_are_not_counted_as_missed() -> None:
    """The detector looked at one region only: annotated people whose feet are outside it
    are not in the audit's people per frame, so a regions-of-interest camera is not reported
    as missing everyone elsewhere in the frame. Without regions every annotated person
    counts."""
    from edge.audit import TruthBox, audit
    from edge.replay import FrameRecord, ReplayReport
    from edge.vision.regions import Rectangle

    camera = parse_config(
        {
            "store_id": "s1",
            "cameras": [
                {
                    "id": "door",
                    "source": {"uri": "clip.avi"},
                    "lines": [{"id": "door", "points": [[100, 0], [100, 200]], "inside": [0, 100]}],
                }
            ],
        }
    ).cameras[0]
    boxes = [
        TruthBox(1, 1, (90.0, 40.0, 110.0, 100.0)),  # feet at (100, 100): in the region
        TruthBox(1, 2, (300.0, 40.0, 320.0, 100.0)),  # feet at (310, 100): outside
        TruthBox(1, 3, (400.0, 40.0, 420.0, 100.0)),  # outside
        TruthBox(2, 1, (95.0, 40.0, 115.0, 100.0)),  # in the region
    ]
    records = [FrameRecord(1, 1, 1, {}), FrameRecord(2, 1, 1, {})]
    report = ReplayReport(
        lines={"door": {"in": 0, "out": 0}},
        per_frame=records,
        source_frames_per_second=10.0,
        regions=(Rectangle(0, 0, 200, 200),),
    )
    in_view = audit(report, boxes, camera)
    assert (in_view.people_mae, in_view.true_people_mean) == (0.0, 1.0)
    whole = audit(replace(report, regions=()), boxes, camera)
    assert (whole.people_mae, whole.true_people_mean) == (1.0, 2.0)
    assert whole.scaled_people_bias == -1.0

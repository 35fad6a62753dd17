"""The audit's ground-truth crossings agree with the reference script in ../shared for many
lines, so the line rule is the same one the truth is defined by."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edge.audit import TruthError, load_mot, true_crossings
from edge.config import parse_config
from edge.counting.counters import Direction

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
    ours = true_crossings(load_mot(footage / "gt" / "gt.txt"), config.cameras[0])[
        "l"
    ]
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

"""Line-counting accuracy of trackers and counting rules on the two shared clips.

    python benchmarks/counting_accuracy.py              # all tables (README, accuracy)
    python benchmarks/counting_accuracy.py --only rules

The detector runs once per clip with the shipped defaults and its output is cached
(``--cache``, default ``~/.cache/footfall/counting-accuracy``); every table is then computed on
the cached detections, so trackers and counting settings are compared on the same boxes:

- ``trackers``: the ``trackers`` package's ByteTrack, OC-SORT and BoT-SORT (the edge's
  ``tracker.kind``, ``edge.counting.tracking``) with some of their settings: HOTA / IDF1 /
  id switches against the ground truth (``trackers.eval``), and crossings wrong with the
  5 px rule and with the default rule.
- ``rules``: counting settings, one change at a time, with the default tracker.
- ``robustness``: the default rule against the 5 px rule under other detector thresholds
  and when only every 2nd / 3rd frame is processed (a slower device).

"wrong" is the sum over lines and directions of |counted - true|; truth is derived from the
annotations with the reference 5 px rule (``edge.audit.true_crossings``). PETS09-S2L1: the six
README lines (152 crossings) and, apart, one more diagonal line never used to choose
settings; CAVIAR: the shop door (truth 1 in / 1 out).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import pickle
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.adhoc import build_config
from edge.audit import load_mot, true_crossings
from edge.config import CountingConfig, EdgeConfig, TrackerConfig
from edge.counting.camera import CameraCounter
from edge.counting.counters import Direction
from edge.counting.tracking import Tracker, TrackUpdate, create_tracker
from edge.vision.detections import People

REPOSITORY = Path(__file__).resolve().parents[1]
FOOTAGE = REPOSITORY.parent / "shared" / "footage"
PETS_LINES = [
    "horizontal=0,300,768,300@384,100",
    "lower=100,400,700,400@384,500",
    "diagonal=200,150,600,550@600,200",
    "right=550,100,550,500@700,300",
    "left=200,200,200,576@50,300",
]
UNSEEN_LINE = "slant=700,0,60,576@700,500"
"""Not one of the README's six lines; reported apart, never used to choose settings."""


@dataclass(frozen=True)
class Clip:
    name: str
    video: Path
    truth: Path
    config_path: Path | None
    lines: tuple[str, ...]


CLIPS = [
    Clip(
        "PETS09-S2L1",
        FOOTAGE / "PETS09-S2L1" / "vtest.avi",
        FOOTAGE / "PETS09-S2L1" / "gt" / "gt.txt",
        REPOSITORY / "examples" / "pets09.yaml",
        (*PETS_LINES, UNSEEN_LINE),
    ),
    Clip(
        "CAVIAR",
        FOOTAGE / "CAVIAR-EnterExitCrossingPaths1front" / "EnterExitCrossingPaths1front.mpg",
        FOOTAGE / "CAVIAR-EnterExitCrossingPaths1front" / "gt" / "gt.txt",
        None,
        ("door=185,128,384,128@280,90",),
    ),
]


DETECTOR_SETTINGS = {"backend", "model", "imgsz", "tiling", "confidence", "iou"}
"""What changes the detector's boxes on full frames (the cache key)."""


@dataclass
class Recording:
    """Detections of every frame with the shipped detector, and the clip's config."""

    clip: Clip
    config: EdgeConfig
    detector: str
    frames_per_second: float
    timestamps: list[float]
    people: list[People]


def record(clip: Clip, cache: Path) -> Recording:
    from edge.vision.detector import create_detector
    from edge.vision.sources import open_source

    config, camera_id = build_config(str(clip.video), clip.config_path, list(clip.lines))
    model_settings = config.detector.model_dump_json(include=DETECTOR_SETTINGS)
    key = hashlib.sha256(model_settings.encode()).hexdigest()[:12]
    path = cache / f"{clip.name}-{key}.pickle"
    if path.exists():
        stored: dict[str, Any] = pickle.loads(path.read_bytes())
    else:
        detector = create_detector(config.detector)
        source = open_source(config.camera(camera_id).source)
        stored = {"detector": detector.name, "fps": 0.0, "timestamps": [], "people": []}
        for frame in source:
            stored["timestamps"].append(frame.timestamp_seconds)
            stored["people"] += detector.detect([frame.image])
        stored["fps"] = source.frames_per_second
        source.close()
        cache.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(stored))
    start = stored["timestamps"][0]
    return Recording(
        clip,
        config,
        stored["detector"],
        stored["fps"],
        [timestamp - start for timestamp in stored["timestamps"]],
        stored["people"],
    )


TrackerFactory = Callable[[Recording, float], Tracker]


def footfall_tracker(**settings: Any) -> TrackerFactory:
    """The edge's tracker (``edge.counting.tracking``) with ``settings`` changed, validated
    like a config file's ``tracker`` section."""

    def build(recording: Recording, frame_rate: float) -> Tracker:
        values = {**recording.config.tracker.model_dump(), **settings}
        return create_tracker(TrackerConfig.model_validate(values), frame_rate)

    return build


@dataclass
class Tracked:
    recording: Recording
    timestamps: list[float]
    frames: list[int]
    """1-based source frame of each update."""
    updates: list[TrackUpdate]


def track(
    recording: Recording, factory: TrackerFactory, confidence: float = 0.0, stride: int = 1
) -> Tracked:
    frame_rate = recording.frames_per_second / stride
    tracker = factory(recording, frame_rate)
    tracked = Tracked(recording, [], [], [])
    for index in range(0, len(recording.people), stride):
        people = recording.people[index]
        people = people.select(people.scores >= confidence)
        tracked.updates.append(tracker.update(people, recording.timestamps[index]))
        tracked.timestamps.append(recording.timestamps[index])
        tracked.frames.append(index + 1)
    return tracked


@dataclass(frozen=True)
class LineScore:
    wrong: int
    """Sum of |counted - true| over the lines and directions scored."""
    true_total: int
    counts: dict[str, tuple[int, int]]
    """Per line: counted entries, exits."""


def count(tracked: Tracked, counting: CountingConfig) -> dict[str, tuple[int, int]]:
    camera = tracked.recording.config.cameras[0]
    counter = CameraCounter(camera, counting)
    for timestamp, update in zip(tracked.timestamps, tracked.updates, strict=True):
        counter.process(timestamp, update)
    return {line: (totals.entries, totals.exits) for line, totals in counter.totals.items()}


@functools.cache
def clip_truth(clip: Clip) -> dict[str, dict[Direction, int]]:
    config, camera_id = build_config(str(clip.video), clip.config_path, list(clip.lines))
    return true_crossings(load_mot(clip.truth), config.camera(camera_id))


def score(tracked: Tracked, counting: CountingConfig, lines: list[str]) -> LineScore:
    truth = clip_truth(tracked.recording.clip)
    counts = count(tracked, counting)
    wrong = 0
    true_total = 0
    for line in lines:
        true_in, true_out = truth[line][Direction.ENTRY], truth[line][Direction.EXIT]
        wrong += abs(counts[line][0] - true_in) + abs(counts[line][1] - true_out)
        true_total += true_in + true_out
    return LineScore(wrong, true_total, counts)


def identity_metrics(tracked: Tracked) -> tuple[float, float, int]:
    """HOTA %, IDF1 %, id switches of the confirmed tracks against the annotations."""
    from trackers.eval import evaluate_mot_sequence

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as output:
        for frame, update in zip(tracked.frames, tracked.updates, strict=True):
            people = update.people
            assert people.track_ids is not None
            for track_id, box in zip(people.track_ids.tolist(), people.boxes, strict=True):
                width, height = box[2] - box[0], box[3] - box[1]
                output.write(
                    f"{frame},{track_id},{box[0]:.2f},{box[1]:.2f},{width:.2f},{height:.2f},"
                    "1,-1,-1,-1\n"
                )
    result = evaluate_mot_sequence(
        tracked.recording.clip.truth, output.name, metrics=["HOTA", "Identity", "CLEAR"]
    )
    Path(output.name).unlink()
    assert result.HOTA is not None
    assert result.Identity is not None
    assert result.CLEAR is not None
    return 100 * result.HOTA.HOTA, 100 * result.Identity.IDF1, result.CLEAR.IDSW


BEFORE = {
    "margin_px": 5.0,
    "band_height_fraction": 0.0,
    "stitch_seconds": 0.0,
    "height_tolerance": 0.0,
    "pair_swaps": False,
}
"""The rule before issue 13: a fixed 5 px band per track."""
RULES: dict[str, dict[str, Any]] = {
    "5 px band per track (before)": BEFORE,
    "band 0.08 × height only": {
        "stitch_seconds": 0.0,
        "height_tolerance": 0.0,
        "pair_swaps": False,
    },
    "+ stitching 1.5 s, 0.75 × height": {"height_tolerance": 0.0, "pair_swaps": False},
    "+ box-height check 35%": {"pair_swaps": False},
    "**+ swap pairing = default**": {},
    "default, band 0.06 × height": {"band_height_fraction": 0.06},
    "default, band 0.10 × height": {"band_height_fraction": 0.10},
    "default, band 0.12 × height": {"band_height_fraction": 0.12},
    "default, stitching 1.0 s": {"stitch_seconds": 1.0},
    "default, stitching 2.0 s": {"stitch_seconds": 2.0},
    "default, stitch radius 0.5 × height": {"stitch_radius_height_fraction": 0.5},
    "default, stitch radius 1.0 × height": {"stitch_radius_height_fraction": 1.0},
    "default, box-height check 25%": {"height_tolerance": 0.25},
    "default, box-height check 50%": {"height_tolerance": 0.5},
    "default, margin 5 px": {"margin_px": 5.0},
}
TRACKERS: dict[str, TrackerFactory] = {
    "**trackers ByteTrack (default)**": footfall_tracker(),
    "trackers ByteTrack, match 0.9": footfall_tracker(match_threshold=0.9),
    "trackers ByteTrack, match 0.7": footfall_tracker(match_threshold=0.7),
    "trackers ByteTrack, lost after 15 frames": footfall_tracker(lost_track_frames=15),
    "trackers ByteTrack, lost after 60 frames": footfall_tracker(lost_track_frames=60),
    "trackers OC-SORT": footfall_tracker(kind="ocsort"),
    "trackers OC-SORT, 3 frames to confirm": footfall_tracker(kind="ocsort", confirm_frames=3),
    "trackers BoT-SORT (no camera motion)": footfall_tracker(kind="botsort"),
    "trackers BoT-SORT, 2 frames to confirm": footfall_tracker(kind="botsort", confirm_frames=2),
    "ultralytics ByteTrack": footfall_tracker(implementation="ultralytics"),
}
CONDITIONS: dict[str, tuple[float, int]] = {
    "shipped (confidence 0.15, every frame)": (0.0, 1),
    "confidence 0.20": (0.20, 1),
    "confidence 0.25": (0.25, 1),
    "every 2nd frame": (0.0, 2),
    "every 3rd frame": (0.0, 3),
}
README_LINES = ["door", *[line.split("=")[0] for line in PETS_LINES]]


def counting(recording: Recording, **changes: Any) -> CountingConfig:
    return recording.config.counting.model_copy(update=changes)


def cells(pets: Tracked, caviar: Tracked, rule: dict[str, Any]) -> list[str]:
    """PETS wrong of 152, door in/out, unseen line wrong, CAVIAR in/out."""
    pets_score = score(pets, counting(pets.recording, **rule), README_LINES)
    unseen = score(pets, counting(pets.recording, **rule), ["slant"])
    caviar_score = score(caviar, counting(caviar.recording, **rule), ["door"])
    door = pets_score.counts["door"]
    return [
        f"{pets_score.wrong} / {pets_score.true_total}",
        f"{door[0]} / {door[1]}",
        f"{unseen.wrong} / {unseen.true_total}",
        "{} / {}".format(*caviar_score.counts["door"]),
    ]


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" if index == 0 else "---:" for index in range(len(header))) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


SCORE_HEADER = [
    "PETS wrong (6 lines)",
    "PETS door in / out",
    "unseen line wrong",
    "CAVIAR in / out",
]


def rules_table(pets: Recording, caviar: Recording) -> None:
    tracked = [track(recording, footfall_tracker()) for recording in (pets, caviar)]
    rows = [[name, *cells(tracked[0], tracked[1], rule)] for name, rule in RULES.items()]
    print_table("Counting rules (trackers ByteTrack)", ["rule", *SCORE_HEADER], rows)


def trackers_table(pets: Recording, caviar: Recording) -> None:
    rows = []
    for name, factory in TRACKERS.items():
        tracked = [track(recording, factory) for recording in (pets, caviar)]
        metrics = [identity_metrics(one) for one in tracked]
        identity = [f"{hota:.1f} / {idf1:.1f} / {switches}" for hota, idf1, switches in metrics]
        before = cells(tracked[0], tracked[1], BEFORE)
        after = cells(tracked[0], tracked[1], {})
        rows.append([name, *identity, before[0], before[3], after[0], after[2], after[3]])
    header = [
        "tracker",
        "PETS HOTA / IDF1 / IDSW",
        "CAVIAR HOTA / IDF1 / IDSW",
        "PETS wrong, 5 px rule",
        "CAVIAR, 5 px rule",
        "PETS wrong, default rule",
        "unseen line wrong",
        "CAVIAR, default rule",
    ]
    print_table("Trackers (same detections)", header, rows)


ROBUSTNESS_TRACKERS: dict[str, TrackerFactory] = {
    "trackers ByteTrack (default)": footfall_tracker(),
    "trackers OC-SORT, 3 frames to confirm": footfall_tracker(kind="ocsort", confirm_frames=3),
}


def robustness_table(pets: Recording, caviar: Recording) -> None:
    rows = []
    for tracker, factory in ROBUSTNESS_TRACKERS.items():
        for name, (confidence, stride) in CONDITIONS.items():
            tracked = [
                track(recording, factory, confidence, stride) for recording in (pets, caviar)
            ]
            before = cells(tracked[0], tracked[1], BEFORE)
            after = cells(tracked[0], tracked[1], {})
            rows.append([tracker, name, before[0], before[3], after[0], after[2], after[3]])
    header = [
        "tracker",
        "detections",
        "PETS wrong, 5 px rule",
        "CAVIAR, 5 px rule",
        "PETS wrong, default",
        "unseen line wrong",
        "CAVIAR, default",
    ]
    print_table("Robustness: other thresholds, frames skipped by a slow device", header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["rules", "trackers", "robustness"])
    parser.add_argument(
        "--cache", type=Path, default=Path.home() / ".cache" / "footfall" / "counting-accuracy"
    )
    options = parser.parse_args()
    pets, caviar = (record(clip, options.cache) for clip in CLIPS)
    frames = len(pets.people) + len(caviar.people)
    print(f"detector: {pets.detector} (shipped defaults), {frames} frames")
    tables = {"rules": rules_table, "trackers": trackers_table, "robustness": robustness_table}
    for name, table in tables.items():
        if options.only in (None, name):
            table(pets, caviar)


if __name__ == "__main__":
    main()

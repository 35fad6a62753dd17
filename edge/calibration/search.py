"""Score combinations of the calibrated settings on one camera's recording, and choose one.

The detector is the expensive part (tens of ms per frame): it runs once per input size, at
the lowest confidence searched, and its detections are kept in memory (``Recording``, made
by ``edge.replay`` with ``keep_detected``, so regions of interest and motion gating apply as
in the worker). Every combination then filters them by its confidence and runs tracking and
counting again (about 1 ms per frame), in two stages: every tracking combination with the
shipped counting settings, then the ``refine`` best of those with every band and reference
point.

Scores: crossings wrong (the sum over lines and directions of |counted - true|), crossings
unmatched (missed plus extra: true and counted crossings paired within a tolerance of time,
as the audit does), and, with MOT truth, the error of the people counted per frame: tracked
people against annotated ones, both where the detector looks (its regions of interest, else
the whole frame), as a mean absolute error and a bias (mean of counted - true). The choice:
fewest crossings wrong, then fewest unmatched, then the smallest |bias|, then the smallest
MAE (people errors compared to :data:`PEOPLE_RESOLUTION`), then the closest to the shipped
defaults, so ties keep the defaults (generalisation over tuning). Then, with MOT truth, the
people scale for the choice (``edge.calibration.people_scale``): what the detector still
misses in a crowd, measured on the recording.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.audit import TruthBox, match_crossings, true_crossing_events
from edge.calibration.people_scale import PeopleScale, fit_people_scale
from edge.calibration.settings import ConfigKey, SearchGrid, Settings
from edge.config import CameraConfig, EdgeConfig
from edge.counting.camera import CameraCounter
from edge.counting.counters import Direction
from edge.counting.tracking import TrackUpdate, create_tracker
from edge.replay import CrossingEvent, DetectedFrame
from edge.vision.detections import ReferencePoint, reference_points
from edge.vision.regions import Rectangle, count_in_view

PEOPLE_RESOLUTION = 0.01
"""People per frame: bias and MAE closer than this are ties (then the defaults win)."""
REFINE = 12
"""Tracking combinations whose every band and reference point are tried."""


@dataclass(frozen=True)
class Recording:
    """The detector's people in every processed frame of the clip, at one input size."""

    imgsz: int
    detector_confidence: float
    """The confidence the detector ran at: the lowest any combination may use."""
    frames: list[DetectedFrame]
    tracker_frame_rate: float
    """Processed frames per second (the source's rate over its stride), as the worker's."""
    source_frames_per_second: float
    regions: tuple[Rectangle, ...] = ()
    """Where the detector looked (source pixels); empty: whole frames."""


@dataclass(frozen=True)
class Truth:
    """True crossings, and with MOT truth the annotated boxes (people per frame)."""

    events: list[CrossingEvent]
    boxes: list[TruthBox] | None = None

    @classmethod
    def from_mot(cls, boxes: list[TruthBox], camera: CameraConfig) -> Truth:
        return cls(true_crossing_events(boxes, camera), boxes)

    def totals(self, camera: CameraConfig) -> dict[str, tuple[int, int]]:
        counts = {line.id: [0, 0] for line in camera.lines}
        for event in self.events:
            counts[event.line_id][0 if event.direction is Direction.ENTRY else 1] += 1
        return {line: (entries, exits) for line, (entries, exits) in counts.items()}


@dataclass(frozen=True)
class Score:
    crossings_wrong: int
    crossings_unmatched: int
    people_mae: float | None
    """People per frame; None with a tally (it has no people per frame)."""
    people_bias: float | None
    """Mean of counted - true people per frame: negative counts too few."""
    lines: dict[str, tuple[int, int]]
    """Counted entries and exits per line."""


@dataclass(frozen=True)
class Outcome:
    settings: Settings
    score: Score
    distance: tuple[int, int]
    """From the shipped defaults: settings changed, steps along the grid."""

    def rank(self) -> tuple[int, int, int, int, tuple[int, int], Settings]:
        """The order of preference: best first (module docstring)."""
        bias, mae = self.score.people_bias, self.score.people_mae
        return (
            self.score.crossings_wrong,
            self.score.crossings_unmatched,
            0 if bias is None else round(abs(bias) / PEOPLE_RESOLUTION),
            0 if mae is None else round(mae / PEOPLE_RESOLUTION),
            self.distance,
            self.settings,
        )


@dataclass(frozen=True)
class Calibration:
    outcomes: list[Outcome]
    """Every combination scored, best first: the first is the choice."""
    defaults: Outcome
    """The shipped defaults' outcome."""
    people_scale: PeopleScale | None = None
    """For the chosen settings, with MOT truth; None with a tally (no people per frame)."""

    @property
    def chosen(self) -> Outcome:
        return self.outcomes[0]

    def changes(self, config: EdgeConfig) -> dict[ConfigKey, tuple[Any, Any]]:
        """The keys the choice changes in ``config``, old and new value; the people scale
        only where MOT truth measured it (a tally keeps the configured one)."""
        changes = self.chosen.settings.changes(config)
        fit, current = self.people_scale, config.counting.people_scale
        if fit is not None and fit.scale != current:
            changes[("counting", "people_scale")] = (current, fit.scale)
        return changes


def _true_people(truth: Truth, recording: Recording) -> list[int] | None:
    """Annotated people in view in each processed frame (bottom-centre of their boxes)."""
    if truth.boxes is None:
        return None
    by_frame: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for box in truth.boxes:
        x1, _, x2, y2 = box.box
        by_frame[box.frame].append(((x1 + x2) / 2.0, y2))
    return [
        count_in_view(
            np.array(by_frame[frame.frame], dtype=np.float64).reshape(-1, 2), recording.regions
        )
        for frame in recording.frames
    ]


def track(recording: Recording, settings: Settings, config: EdgeConfig) -> list[TrackUpdate]:
    """The recording's detections above ``settings.detector_confidence`` (the detector keeps
    scores above its confidence), tracked with ``settings``' tracker."""
    if settings.detector_confidence < recording.detector_confidence:
        raise ValueError(
            f"detections were kept above confidence {recording.detector_confidence:g}, "
            f"not {settings.detector_confidence:g}"
        )
    tracker = create_tracker(settings.apply(config).tracker, recording.tracker_frame_rate)
    floor = settings.detector_confidence
    filter_scores = floor > recording.detector_confidence
    updates = []
    for frame in recording.frames:
        people = frame.people.select(frame.people.scores > floor) if filter_scores else frame.people
        updates.append(tracker.update(people, frame.timestamp_seconds))
    return updates


def count(
    recording: Recording, updates: list[TrackUpdate], camera: CameraConfig, config: EdgeConfig
) -> tuple[dict[str, tuple[int, int]], list[CrossingEvent]]:
    """Entries and exits per line once the clip has ended (as a replay's), and the crossings
    counted frame by frame."""
    counter = CameraCounter(camera, config.counting)
    events: list[CrossingEvent] = []
    for frame, update in zip(recording.frames, updates, strict=True):
        counts = counter.process(frame.timestamp_seconds, update)
        events += [
            CrossingEvent(frame.frame, crossing.line_id, crossing.direction, crossing.track_id)
            for crossing in counts.crossings
        ]
    counter.flush()
    totals = {line: (sums.entries, sums.exits) for line, sums in counter.totals.items()}
    return totals, events


def _counted_people(updates: list[TrackUpdate], recording: Recording) -> list[int]:
    """Tracked people in view in each processed frame (bottom-centre of their boxes)."""
    return [
        count_in_view(
            reference_points(update.people, ReferencePoint.BOTTOM_CENTRE), recording.regions
        )
        for update in updates
    ]


def _people_errors(
    updates: list[TrackUpdate], true_people: list[int] | None, recording: Recording
) -> tuple[float | None, float | None]:
    """MAE and bias of the tracked people per frame against ``true_people``."""
    if true_people is None:
        return None, None
    errors = np.array(_counted_people(updates, recording), dtype=np.float64) - np.array(
        true_people, dtype=np.float64
    )
    if len(errors) == 0:
        return 0.0, 0.0
    return float(np.abs(errors).mean()), float(errors.mean())


@dataclass
class _Search:
    config: EdgeConfig
    camera: CameraConfig
    recordings: Mapping[int, Recording]
    truth: Truth
    grid: SearchGrid
    tolerance_seconds: float

    def __post_init__(self) -> None:
        self.true_totals = self.truth.totals(self.camera)
        self.true_people = {
            size: _true_people(self.truth, recording) for size, recording in self.recordings.items()
        }

    def score(
        self, settings: Settings, updates: list[TrackUpdate], people: tuple[float | None, ...]
    ) -> Outcome:
        recording = self.recordings[settings.imgsz]
        totals, events = count(recording, updates, self.camera, settings.apply(self.config))
        wrong = sum(
            abs(totals[line][index] - self.true_totals[line][index])
            for line in self.true_totals
            for index in (0, 1)
        )
        tolerance_frames = self.tolerance_seconds * recording.source_frames_per_second
        matches = match_crossings(self.truth.events, events, tolerance_frames)
        unmatched = sum(1 for match in matches if match.outcome != "matched")
        mae, bias = people
        score = Score(wrong, unmatched, mae, bias, totals)
        return Outcome(settings, score, self.grid.distance(settings))

    def tracked(self, settings: Settings) -> tuple[list[TrackUpdate], tuple[float | None, ...]]:
        recording = self.recordings[settings.imgsz]
        updates = track(recording, settings, self.config)
        people = _people_errors(updates, self.true_people[settings.imgsz], recording)
        return updates, people

    def people_scale(self, settings: Settings) -> PeopleScale | None:
        """The people scale for ``settings`` (None without people in the truth)."""
        true_people = self.true_people[settings.imgsz]
        if true_people is None:
            return None
        recording = self.recordings[settings.imgsz]
        counted = _counted_people(track(recording, settings, self.config), recording)
        return fit_people_scale(counted, true_people)


def search(
    config: EdgeConfig,
    camera_id: str,
    recordings: Mapping[int, Recording],
    truth: Truth,
    grid: SearchGrid,
    *,
    tolerance_seconds: float = 2.0,
    refine: int = REFINE,
    on_progress: Callable[[int, int], None] | None = None,
) -> Calibration:
    """Score the grid's combinations on ``recordings`` (one per input size of the grid) and
    rank them (module docstring). ``on_progress(done, total)`` after each combination."""
    missing = sorted(set(grid.imgsz) - set(recordings))
    if missing:
        raise ValueError(f"no recording at imgsz {', '.join(map(str, missing))}")
    run = _Search(config, config.camera(camera_id), recordings, truth, grid, tolerance_seconds)
    tracking = grid.tracking_settings()
    variants = len(grid.band_height_fraction) * len(grid.reference_point)
    total = len(tracking) + min(refine, len(tracking)) * (variants - 1)
    outcomes: dict[Settings, Outcome] = {}

    def scored(outcome: Outcome) -> None:
        outcomes[outcome.settings] = outcome
        if on_progress is not None:
            on_progress(len(outcomes), total)

    for settings in tracking:
        scored(run.score(settings, *run.tracked(settings)))
    best = sorted(outcomes.values(), key=Outcome.rank)[:refine]
    for outcome in best:
        updates, people = run.tracked(outcome.settings)
        for variant in grid.counting_variants(outcome.settings):
            if variant not in outcomes:
                scored(run.score(variant, updates, people))
    ranked = sorted(outcomes.values(), key=Outcome.rank)
    return Calibration(ranked, outcomes[Settings.shipped()], run.people_scale(ranked[0].settings))

"""Multi-object tracking of detected people: ids across frames, and which ids retired.

Two implementations, both maintained libraries:
- ``trackers``: Roboflow's ``trackers`` package, ByteTrack, OC-SORT or BoT-SORT (torch-free,
  for edge-lite devices). They predict by timestamps, so frames skipped under load do not
  break tracks;
- ``ultralytics``: ultralytics' BYTETracker / BOTSORT (needs torch, since importing
  ultralytics imports it).

Which kind each implementation has is validated with the config (``edge.config``).

Track ids never leave the device.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from edge.config import TRACKER_KINDS, TrackerConfig, TrackerKind
from edge.vision.detections import FloatArray, People


@dataclass(frozen=True)
class TrackUpdate:
    people: People
    """People matched to a confirmed track in this frame, with ``track_ids`` set."""
    retired_ids: list[int] = field(default_factory=list)
    """Tracks the tracker has given up on: their per-track counting state can go."""


class Tracker(Protocol):
    name: str

    def update(self, people: People, timestamp_seconds: float) -> TrackUpdate: ...


class _BoxesView:
    """The attributes ultralytics' trackers read from a ``Boxes`` object, on numpy arrays."""

    def __init__(self, xyxy: FloatArray, confidence: FloatArray) -> None:
        self.xyxy = xyxy.astype(np.float32)
        self.conf = confidence.astype(np.float32)
        self.cls = np.zeros(len(xyxy), dtype=np.float32)
        centre = (self.xyxy[:, :2] + self.xyxy[:, 2:]) / 2
        size = self.xyxy[:, 2:] - self.xyxy[:, :2]
        self.xywh = np.concatenate([centre, size], axis=1) if len(xyxy) else np.zeros((0, 4))

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, index: Any) -> _BoxesView:
        return _BoxesView(self.xyxy[index], self.conf[index])


def _select_tracked(people: People, indices: np.ndarray, ids: np.ndarray) -> People:
    keep = indices.astype(np.int64)
    return People(
        boxes=people.boxes[keep],
        scores=people.scores[keep],
        keypoints=None if people.keypoints is None else people.keypoints[keep],
        track_ids=ids.astype(np.int64),
    )


class UltralyticsTracker:
    """ultralytics' BYTETracker or BOTSORT (without ReID), fed with our detections."""

    def __init__(self, config: TrackerConfig, frame_rate: float) -> None:
        from edge.offline import prepare_offline

        prepare_offline()
        from ultralytics.trackers.bot_sort import BOTSORT
        from ultralytics.trackers.byte_tracker import BYTETracker
        from ultralytics.utils import IterableSimpleNamespace

        arguments = IterableSimpleNamespace(
            tracker_type=config.kind.value,
            track_high_thresh=config.high_confidence,
            track_low_thresh=config.low_confidence,
            new_track_thresh=config.new_track_confidence,
            track_buffer=config.lost_track_frames,
            match_thresh=config.match_threshold,
            fuse_score=True,
            gmc_method="none",
            proximity_thresh=0.5,
            appearance_thresh=0.25,
            with_reid=False,
            model="auto",
        )
        self.name = f"ultralytics-{config.kind.value}"
        if config.kind is TrackerKind.BOTSORT:
            self._tracker: Any = BOTSORT(arguments)
        else:
            self._tracker = BYTETracker(arguments)  # type: ignore[no-untyped-call]
        self._alive: set[int] = set()

    def update(self, people: People, timestamp_seconds: float) -> TrackUpdate:
        rows = self._tracker.update(_BoxesView(people.boxes, people.scores))
        if len(rows) == 0:
            tracked = _select_tracked(people, np.zeros(0), np.zeros(0))
        else:
            tracked = _select_tracked(people, rows[:, -1], rows[:, 4])
        removed = getattr(self._tracker, "removed_stracks_frame", None)
        if removed is None:  # older ultralytics: derive retirements from the pools
            known = {int(track.track_id) for track in self._tracker.tracked_stracks}
            known |= {int(track.track_id) for track in self._tracker.lost_stracks}
            retired = sorted(self._alive - known)
            self._alive = known
        else:
            retired = sorted(int(track.track_id) for track in removed)
        return TrackUpdate(people=tracked, retired_ids=retired)


class PackageTracker:
    """Roboflow ``trackers``: ByteTrack, OC-SORT or BoT-SORT; torch-free, and each predicts
    motion from timestamps, so frames skipped under load do not break tracks."""

    def __init__(self, config: TrackerConfig, frame_rate: float) -> None:
        import supervision
        from trackers import BoTSORTTracker, ByteTrackTracker, OCSORTTracker

        self.name = f"trackers-{config.kind.value}"
        self._supervision = supervision
        minimum_iou = 1.0 - config.match_threshold
        common: dict[str, Any] = {
            # trackers counts its lost-track buffer in 30 fps frames; ours in source frames.
            "lost_track_buffer": max(1, round(config.lost_track_frames * 30.0 / frame_rate)),
            "frame_rate": frame_rate,
            "high_conf_det_threshold": config.high_confidence,
            "minimum_consecutive_frames": config.confirm_frames,
        }
        if config.kind is TrackerKind.BYTETRACK:
            self._tracker: Any = ByteTrackTracker(
                **common,
                track_activation_threshold=config.new_track_confidence,
                minimum_iou_threshold=minimum_iou,
            )
        elif config.kind is TrackerKind.OCSORT:
            self._tracker = OCSORTTracker(**common, minimum_iou_threshold=minimum_iou)
        else:  # fixed cameras: no camera-motion compensation (it needs the frames, too)
            self._tracker = BoTSORTTracker(
                **common,
                track_activation_threshold=config.new_track_confidence,
                minimum_iou_threshold_first_assoc=minimum_iou,
                enable_cmc=False,
            )
        self._alive: set[int] = set()

    def update(self, people: People, timestamp_seconds: float) -> TrackUpdate:
        detections = self._supervision.Detections(
            xyxy=people.boxes.astype(np.float32),
            confidence=people.scores.astype(np.float32),
            class_id=np.zeros(len(people), dtype=int),
        )
        detections.data["index"] = np.arange(len(people))
        result = self._tracker.update(detections, timestamp=timestamp_seconds)
        tracker_ids = result.tracker_id if result.tracker_id is not None else np.zeros(0, int)
        confirmed = tracker_ids >= 0
        indices = result.data["index"][confirmed] if len(result) else np.zeros(0)
        ids = tracker_ids[confirmed] if len(result) else np.zeros(0)
        alive = {int(track.tracker_id) for track in self._tracker.tracks if track.tracker_id >= 0}
        retired = sorted(self._alive - alive)
        self._alive = alive
        return TrackUpdate(people=_select_tracked(people, indices, ids), retired_ids=retired)


def create_tracker(config: TrackerConfig, frame_rate: float) -> Tracker:
    """The configured tracker; ``frame_rate`` is of the frames the tracker will see."""
    if frame_rate <= 0:
        raise ValueError(f"tracker frame_rate must be > 0, got {frame_rate}")
    if config.kind not in TRACKER_KINDS[config.implementation]:  # a copy skips validation
        raise ValueError(f"tracker.implementation {config.implementation!r} has no {config.kind}")
    if config.implementation == "ultralytics":
        if importlib.util.find_spec("torch") is None:
            raise ValueError(
                "tracker.implementation 'ultralytics' needs torch (pip install 'footfall[edge]');"
                " use 'trackers' on torch-free devices"
            )
        return UltralyticsTracker(config, frame_rate)
    return PackageTracker(config, frame_rate)

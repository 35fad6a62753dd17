"""The settings calibration searches, the grid of values it tries, and how far a combination
is from the shipped defaults.

Calibrated, and nothing else: the detector's input size and confidence floor, the tracker's
kind, confidence (its high and new-track thresholds, one value) and frames to confirm, and
the counting band and reference point. The shipped defaults and the config's current values
are always among the values tried, so "keep the defaults" is always a candidate. The people
scale is not searched: it is measured once the rest is chosen (``people_scale``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from edge.config import (
    TRACKER_KINDS,
    CountingConfig,
    DetectorConfig,
    EdgeConfig,
    TrackerConfig,
    TrackerKind,
    parse_config,
)
from edge.vision.detections import ReferencePoint

ConfigKey = tuple[str, str]
"""A key of the edge config: section and name, e.g. ``("tracker", "kind")``."""

IMGSZ_STEP = 256
"""The input sizes tried by default: the configured one and one this much larger (people
too small for the detector at the configured size are the usual reason to calibrate)."""
DETECTOR_CONFIDENCES = (0.05, 0.10, 0.15, 0.20, 0.25)
TRACK_CONFIDENCES = (0.10, 0.15, 0.20, 0.25)
CONFIRM_FRAMES = (1, 3)
BAND_HEIGHT_FRACTIONS = (0.04, 0.06, 0.08, 0.10, 0.12)
"""README, accuracy: 0.06-0.12 were measured on two cameras."""


@dataclass(frozen=True, order=True)
class Settings:
    """One combination of the calibrated settings."""

    imgsz: int
    detector_confidence: float
    """``detector.confidence``: the lowest score a detection may have."""
    track_confidence: float
    """``tracker.high_confidence`` and ``tracker.new_track_confidence``: detections at or
    above it are matched first and may start tracks; those between the detector's floor and
    it only continue tracks (ByteTrack, BoT-SORT)."""
    kind: TrackerKind
    confirm_frames: int
    band_height_fraction: float
    reference_point: ReferencePoint

    @classmethod
    def shipped(cls) -> Settings:
        """The defaults every config starts from (``edge.config``)."""
        detector, tracker, counting = DetectorConfig(), TrackerConfig(), CountingConfig()
        return cls(
            detector.imgsz,
            detector.confidence,
            tracker.high_confidence,
            tracker.kind,
            tracker.confirm_frames,
            counting.band_height_fraction,
            counting.reference_point,
        )

    @classmethod
    def of(cls, config: EdgeConfig) -> Settings:
        """The config's current values (its high confidence stands for the tracker's)."""
        return cls(
            config.detector.imgsz,
            config.detector.confidence,
            config.tracker.high_confidence,
            config.tracker.kind,
            config.tracker.confirm_frames,
            config.counting.band_height_fraction,
            config.counting.reference_point,
        )

    def values(self, config: EdgeConfig) -> dict[ConfigKey, Any]:
        """The config keys these settings set, with their values. ``tracker.low_confidence``
        (ultralytics' second-stage floor) follows the detector's floor where it would
        otherwise lie above the tracker's confidence."""
        values: dict[ConfigKey, Any] = {
            ("detector", "imgsz"): self.imgsz,
            ("detector", "confidence"): self.detector_confidence,
            ("tracker", "kind"): self.kind,
            ("tracker", "high_confidence"): self.track_confidence,
            ("tracker", "new_track_confidence"): self.track_confidence,
            ("tracker", "confirm_frames"): self.confirm_frames,
            ("counting", "band_height_fraction"): self.band_height_fraction,
            ("counting", "reference_point"): self.reference_point,
        }
        if config.tracker.low_confidence > self.track_confidence:
            values[("tracker", "low_confidence")] = self.detector_confidence
        return values

    def changes(self, config: EdgeConfig) -> dict[ConfigKey, tuple[Any, Any]]:
        """The keys whose value these settings change: old and new value."""
        current = config.model_dump()
        return {
            key: (current[key[0]][key[1]], value)
            for key, value in self.values(config).items()
            if current[key[0]][key[1]] != value
        }

    def apply(self, config: EdgeConfig) -> EdgeConfig:
        """``config`` with these settings, validated like a config file."""
        data = config.model_dump(mode="python")
        for (section, name), value in self.values(config).items():
            data[section][name] = value
        return parse_config(data, origin="calibrated settings")

    def label(self) -> dict[str, str]:
        """Each setting as the table shows it, under a short header (:data:`LEGEND`)."""
        return {
            "imgsz": str(self.imgsz),
            "floor": f"{self.detector_confidence:.2f}",
            "confidence": f"{self.track_confidence:.2f}",
            "tracker": self.kind.value,
            "confirm": str(self.confirm_frames),
            "band": f"{self.band_height_fraction:.2f}",
            "point": self.reference_point.value,
        }


LEGEND = (
    "imgsz: detector.imgsz; floor: detector.confidence; confidence: tracker.high_confidence "
    "and new_track_confidence; tracker: tracker.kind; confirm: tracker.confirm_frames; "
    "band: counting.band_height_fraction; point: counting.reference_point"
)
"""What the table's short headers stand for."""


def _with(values: Iterable[Any], *extra: Any) -> tuple[Any, ...]:
    return tuple(sorted(set(values) | set(extra)))


@dataclass(frozen=True)
class SearchGrid:
    """The values tried for each setting (each sorted, the shipped default among them)."""

    imgsz: tuple[int, ...]
    detector_confidence: tuple[float, ...]
    track_confidence: tuple[float, ...]
    kind: tuple[TrackerKind, ...]
    confirm_frames: tuple[int, ...]
    band_height_fraction: tuple[float, ...]
    reference_point: tuple[ReferencePoint, ...]

    @classmethod
    def around(
        cls,
        config: EdgeConfig,
        *,
        imgsz: Sequence[int] = (),
        detector_confidence: Sequence[float] = (),
        track_confidence: Sequence[float] = (),
        kind: Sequence[TrackerKind] = (),
        confirm_frames: Sequence[int] = (),
        band_height_fraction: Sequence[float] = (),
        reference_point: Sequence[ReferencePoint] = (),
    ) -> SearchGrid:
        """The default grid for ``config``, or the values given for a setting; either way
        with the shipped default and the config's current value added (the current tracker
        kind only where the configured implementation has it)."""
        shipped, current = Settings.shipped(), Settings.of(config)
        implementation = config.tracker.implementation
        larger = config.detector.imgsz + IMGSZ_STEP
        default_imgsz = (config.detector.imgsz, *([larger] if larger <= 4096 else []))
        kinds = TRACKER_KINDS[implementation]
        confirms = CONFIRM_FRAMES if implementation == "trackers" else (1,)
        unknown = [item.value for item in kind if item not in kinds]
        if unknown:
            raise ValueError(
                f"tracker implementation {implementation!r} has no {', '.join(unknown)} "
                f"(it has {', '.join(item.value for item in kinds)})"
            )
        return cls(
            _with(imgsz or default_imgsz, shipped.imgsz, current.imgsz),
            _with(detector_confidence or DETECTOR_CONFIDENCES, shipped.detector_confidence),
            _with(track_confidence or TRACK_CONFIDENCES, shipped.track_confidence),
            tuple(item for item in kinds if item in {*(kind or kinds), shipped.kind, current.kind}),
            _with(confirm_frames or confirms, shipped.confirm_frames, current.confirm_frames),
            _with(band_height_fraction or BAND_HEIGHT_FRACTIONS, shipped.band_height_fraction),
            _with(reference_point or ReferencePoint, shipped.reference_point),
        )

    def tracking_settings(self) -> list[Settings]:
        """Every combination of the tracking settings (the detector's floor at most the
        tracker's confidence), with the shipped counting settings."""
        shipped = Settings.shipped()
        return [
            Settings(
                size,
                floor,
                confidence,
                kind,
                confirm,
                shipped.band_height_fraction,
                shipped.reference_point,
            )
            for size, floor, confidence, kind, confirm in itertools.product(
                self.imgsz,
                self.detector_confidence,
                self.track_confidence,
                self.kind,
                self.confirm_frames,
            )
            if floor <= confidence
        ]

    def counting_variants(self, tracking: Settings) -> list[Settings]:
        """``tracking`` with every band and reference point."""
        return [
            Settings(
                tracking.imgsz,
                tracking.detector_confidence,
                tracking.track_confidence,
                tracking.kind,
                tracking.confirm_frames,
                band,
                point,
            )
            for band, point in itertools.product(self.band_height_fraction, self.reference_point)
        ]

    def distance(self, settings: Settings) -> tuple[int, int]:
        """How far ``settings`` are from the shipped defaults: settings changed, then steps
        along this grid's values summed over the settings (a tie goes to the defaults)."""
        shipped = Settings.shipped()
        changed = steps = 0
        for item in fields(Settings):
            axis: tuple[Any, ...] = getattr(self, item.name)
            value, default = getattr(settings, item.name), getattr(shipped, item.name)
            if value != default:
                changed += 1
                steps += abs(axis.index(value) - axis.index(default))
        return changed, steps

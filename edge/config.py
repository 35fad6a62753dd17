"""Edge worker configuration: one pydantic model per concern, ``extra="forbid"``.

Coordinates are source-frame pixels. A YAML file maps onto ``EdgeConfig``; ``load_config``
turns validation errors into ``ConfigError`` whose message names the key path and the bad
value (``cameras -> 0 -> lines -> 1 -> inside: ...``).
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from edge.counting.geometry import DirectedLine, Polygon
from edge.vision.detections import ReferencePoint
from protocol.messages import Identifier, LineRole, ZoneRole
from protocol.settings import ConfigError, MqttConnectionConfig, Section, describe_errors

PixelPoint = tuple[float, float]


class LineConfig(Section):
    id: Identifier
    points: tuple[PixelPoint, PixelPoint]
    """Two end points of the counting line, in source-frame pixels."""
    inside: PixelPoint
    """Any point on the store side: crossing toward it is an entry."""
    role: LineRole | None = None
    """``entrance`` (entries are visits), ``passing`` (passers-by outside the shop front, for
    the capture rate), ``staff`` (a staff-only door: moves occupancy, never visits) or
    ``internal``. Default: from ``entrance`` (README, line roles)."""
    entrance: bool | None = None
    """The older spelling, still accepted: true is ``role: entrance``, false ``role:
    internal``; neither given: ``entrance``. Given with ``role``, the two must agree."""

    @model_validator(mode="after")
    def _valid_geometry(self) -> LineConfig:
        self.geometry()
        role, entrance = self.role, self.entrance
        if role is not None and entrance is not None and entrance != (role is LineRole.ENTRANCE):
            raise ValueError(
                f"entrance: {str(entrance).lower()} contradicts role: {role.value} "
                "(role replaces entrance: drop entrance)"
            )
        return self

    @property
    def line_role(self) -> LineRole:
        """The line's role: ``role``, else from ``entrance`` (absent: an entrance)."""
        if self.role is not None:
            return self.role
        return LineRole.INTERNAL if self.entrance is False else LineRole.ENTRANCE

    def geometry(self) -> DirectedLine:
        return DirectedLine(start=self.points[0], end=self.points[1], inside=self.inside)


class ZoneConfig(Section):
    id: Identifier
    polygon: Annotated[list[PixelPoint], Field(min_length=3)]
    role: ZoneRole = ZoneRole.COUNTING
    """``counting`` (people in it and their dwell times) or ``exclusion`` (a staff door or
    stockroom: tracks that start or end in it are not counted on entrance lines)."""

    @model_validator(mode="after")
    def _valid_geometry(self) -> ZoneConfig:
        self.geometry()
        return self

    def geometry(self) -> Polygon:
        return Polygon(tuple(self.polygon))


class SourceConfig(Section):
    uri: str
    """Video file, folder of images, ``rtsp://``/``http(s)://`` URL, or a USB camera index."""
    fps: Annotated[float, Field(gt=0, le=240)] | None = None
    """Frame rate of a file or folder when its container is wrong or absent."""
    stride: Annotated[int, Field(ge=1, le=100)] = 1
    """Files and folders: process every Nth frame (deterministic)."""
    start_time_utc: str | None = None
    """Files and folders: ISO 8601 time of the first frame (default: when the run starts)."""
    realtime: bool = False
    """Files and folders: hand frames over at the recording's frame rate, as a camera would
    (demos, the entrance-display test): a frame the worker had no time for is dropped
    (counted in health). Default: every frame, as fast as they are counted."""
    reconnect_initial_seconds: Annotated[float, Field(gt=0)] = 1.0
    reconnect_max_seconds: Annotated[float, Field(gt=0)] = 60.0
    read_timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    """Live sources: no frame for this long means the stream is dead."""


class DetectorBackend(StrEnum):
    AUTO = "auto"
    ULTRALYTICS = "ultralytics"
    ONNXRUNTIME = "onnxruntime"
    OPENVINO = "openvino"


class TilingConfig(Section):
    rows: Annotated[int, Field(ge=1, le=8)] = 2
    columns: Annotated[int, Field(ge=1, le=8)] = 2
    overlap: Annotated[float, Field(ge=0, lt=0.9)] = 0.2
    """Fraction of a tile shared with its neighbour."""


class RegionsConfig(Section):
    """Where the detector looks: bands around lines and zones' boxes (edge/vision/regions.py)."""

    enabled: bool = True
    """False: the detector sees full frames. Cameras without lines or zones always do.
    On by default: door counts on PETS09 and CAVIAR are as accurate as with full frames."""
    margin_px: Annotated[float, Field(gt=0, le=8192)] | None = None
    """How far beyond each line and zone the detector looks, in source pixels: at least the
    height of a person standing at the line. None: a fifth of the frame height."""
    full_frame_fraction: Annotated[float, Field(gt=0, le=1)] = 0.7
    """Regions costing at least this share of a full frame's input pixels: full frames."""


class MotionConfig(Section):
    """Skip the detector on frames where nothing moved in the regions (edge/vision/motion.py)."""

    enabled: bool = True
    """On by default: no person waited for the detector on either shared clip (README,
    performance), and the counting and accuracy tests pass with it; it saves CPU when a view
    is empty (39% of CAVIAR's frames skipped; none on the crowded PETS square)."""
    downscale: Annotated[int, Field(ge=1, le=16)] = 4
    """Frames are compared at 1/downscale of the source resolution, in grey."""
    pixel_threshold: Annotated[int, Field(ge=1, le=255)] = 10
    """Grey levels a low-resolution pixel must change by to count as changed."""
    min_changed_px: Annotated[float, Field(ge=0)] = 40.0
    """Changed source pixels (low-resolution pixels × downscale²) that make a frame moved."""
    max_skip_seconds: Annotated[float, Field(gt=0, le=3600)] = 2.0
    """The detector runs at least this often, moved or not."""


class DetectorConfig(Section):
    backend: DetectorBackend = DetectorBackend.AUTO
    model: str | None = None
    """Path to an ultralytics model (.pt) or an exported one (.onnx / OpenVINO folder).
    Default: the bundled yolo11n-pose (exported to ONNX when that backend is used)."""
    imgsz: Annotated[int, Field(ge=64, le=4096, multiple_of=32)] = 1280
    """Longest side of the network input. People ~30x90 px need >= 1280 (see README)."""
    tiling: TilingConfig | None = None
    confidence: Annotated[float, Field(ge=0.01, le=1)] = 0.15
    """Minimum detection score. Small, distant people score low: 0.15 minimised the
    per-frame count error on PETS09 (README, accuracy table)."""
    iou: Annotated[float, Field(gt=0, le=1)] = 0.7
    threads: Annotated[int, Field(ge=0, le=256)] = 0
    """CPU threads for the runtime; 0 = all cores."""
    regions: RegionsConfig = Field(default_factory=RegionsConfig)
    motion: MotionConfig = Field(default_factory=MotionConfig)


class TrackerKind(StrEnum):
    BYTETRACK = "bytetrack"
    OCSORT = "ocsort"
    BOTSORT = "botsort"


TrackerImplementation = Literal["trackers", "ultralytics"]
TRACKER_KINDS: dict[str, tuple[TrackerKind, ...]] = {
    "trackers": (TrackerKind.BYTETRACK, TrackerKind.OCSORT, TrackerKind.BOTSORT),
    "ultralytics": (TrackerKind.BYTETRACK, TrackerKind.BOTSORT),
}
"""The kinds each implementation has."""


class TrackerConfig(Section):
    kind: TrackerKind = TrackerKind.BYTETRACK
    """``bytetrack`` (the default: the fewest counting errors when frames are skipped, README
    accuracy), ``ocsort`` or ``botsort`` (without appearance features or camera-motion
    compensation: the cameras are fixed)."""
    implementation: TrackerImplementation = "trackers"
    """``trackers``: Roboflow's torch-free trackers, all three kinds (time-based prediction,
    so frames skipped under load do not break tracks). ``ultralytics``: its ByteTrack or
    BoT-SORT (needs torch)."""
    high_confidence: Annotated[float, Field(ge=0, le=1)] = 0.15
    """Detections at or above this join the first association stage (OC-SORT: the only one;
    detections below it are not tracked)."""
    low_confidence: Annotated[float, Field(ge=0, le=1)] = 0.1
    """``ultralytics`` only: the floor of the second stage (``trackers`` takes every
    detection below ``high_confidence`` that ``detector.confidence`` let through)."""
    new_track_confidence: Annotated[float, Field(ge=0, le=1)] = 0.15
    """A detection no track claims starts a new one at or above this (not OC-SORT)."""
    lost_track_frames: Annotated[int, Field(ge=1, le=10_000)] = 30
    """How long a lost track may be re-found before it is retired (processed frames)."""
    match_threshold: Annotated[float, Field(gt=0, le=1)] = 0.8
    """Largest IoU distance (1 - IoU) of a detection matched to a track."""
    confirm_frames: Annotated[int, Field(ge=1, le=100)] = 1
    """``trackers`` only: frames a new track must be matched in before it gets an id (and
    can count). 1: at once; 3 made OC-SORT steadier at full frame rate but lost crossings
    when frames were skipped (README, how the tracker was chosen)."""

    @field_validator("implementation")
    @classmethod
    def _has_kind(cls, implementation: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        kinds = TRACKER_KINDS[implementation]
        if kind is not None and kind not in kinds:
            names = ", ".join(item.value for item in kinds)
            raise ValueError(
                f"implementation {implementation!r} has no {kind.value} tracker (it has "
                f"{names}); use implementation: trackers"
            )
        return implementation

    @field_validator("low_confidence")
    @classmethod
    def _low_below_high(cls, low: float, info: ValidationInfo) -> float:
        high = info.data.get("high_confidence")
        if high is not None and low > high:
            raise ValueError(f"low_confidence {low:g} is above high_confidence {high:g}")
        return low

    @field_validator("confirm_frames")
    @classmethod
    def _confirm_in_trackers(cls, frames: int, info: ValidationInfo) -> int:
        if frames != 1 and info.data.get("implementation") == "ultralytics":
            raise ValueError(
                "implementation 'ultralytics' has no confirm_frames (its trackers confirm a "
                "track on its second frame): leave it at 1 or use implementation: trackers"
            )
        return frames


class CountingConfig(Section):
    reference_point: ReferencePoint = ReferencePoint.BOTTOM_CENTRE
    keypoint_confidence: Annotated[float, Field(ge=0, le=1)] = 0.5
    margin_px: Annotated[float, Field(ge=0, le=500)] = 2.0
    """Smallest half-width of the band either side of every line, in source pixels (pixel
    jitter of very small people); also how far beyond a line's ends a crossing still counts."""
    band_height_fraction: Annotated[float, Field(ge=0, le=2)] = 0.08
    """Half-width of the band as a fraction of each person's height: a crossing is a move
    from beyond the band on one side to beyond it on the other, so the band scales with the
    person (README, accuracy: measured 0.06-0.12 on two cameras; 0 = ``margin_px`` only)."""
    stitch_seconds: Annotated[float, Field(ge=0, le=10)] = 1.5
    """A person lost less than this long ago is continued by a new track that starts where
    the person is predicted to be (one trajectory, one count); 0 = never stitch."""
    stitch_radius_height_fraction: Annotated[float, Field(ge=0, le=5)] = 0.75
    """How far from the lost person's predicted position, in person heights."""
    height_tolerance: Annotated[float, Field(ge=0, le=5)] = 0.35
    """A box whose height differs from the person's recent heights by more than this
    fraction (merged with another person, cut off by an occluder) moves nobody across a
    line; 0 = trust every box."""
    pair_swaps: bool = True
    """Two tracks that reach the line from opposite sides together and both turn back
    (ids swapped at the line) count one entry and one exit."""
    interval_seconds: Annotated[float, Field(ge=1, le=86_400)] = 60.0
    people_scale: Annotated[float, Field(ge=0.5, le=2.0)] = 1.0
    """Zone occupancy is multiplied by this (people counted per frame to people there): in
    a crowd the detector misses the people hidden behind others, in proportion to how
    crowded the view is, so the count is low by a fraction the camera's own truth can
    measure (``footfall edge calibrate`` sets it to true ÷ counted people over a recording,
    README, calibration). One factor per camera view; line counts are not affected."""


class CameraConfig(Section):
    id: Identifier
    source: SourceConfig
    lines: list[LineConfig] = Field(default_factory=list)
    zones: list[ZoneConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> CameraConfig:
        for kind, items in (("line", self.lines), ("zone", self.zones)):
            ids = [item.id for item in items]
            duplicates = sorted({item for item in ids if ids.count(item) > 1})
            if duplicates:
                raise ValueError(f"duplicate {kind} id(s): {', '.join(duplicates)}")
        return self


class MqttConfig(MqttConnectionConfig):
    client_id: str | None = None
    """Default: ``footfall-{store}-{camera}``; must be stable for the persistent session."""
    max_inflight: Annotated[int, Field(ge=1, le=65535)] = 100


class OutboxConfig(Section):
    path: Path = Path("/var/lib/footfall/outbox.sqlite3")
    quota_bytes: Annotated[int, Field(ge=64 * 1024)] = 256 * 1024 * 1024
    """Disk quota for unacknowledged intervals; reaching it merges the oldest intervals."""
    keep_acknowledged_seconds: Annotated[float, Field(ge=0, le=86_400)] = 300.0
    """Acknowledged intervals are re-sent on every reconnect for this long, in case the
    broker crashed after its PUBACK but before forwarding them (0: delete on PUBACK)."""


class HealthConfig(Section):
    interval_seconds: Annotated[float, Field(ge=1, le=3600)] = 30.0


class EdgeConfig(Section):
    store_id: Identifier
    cameras: Annotated[list[CameraConfig], Field(min_length=1)]
    detector: DetectorConfig = Field(default_factory=DetectorConfig)
    tracker: TrackerConfig = Field(default_factory=TrackerConfig)
    counting: CountingConfig = Field(default_factory=CountingConfig)
    mqtt: MqttConfig | None = None
    """None: write intervals as JSON lines to ``output_path`` instead of publishing."""
    outbox: OutboxConfig = Field(default_factory=OutboxConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    output_path: Path | None = None

    @model_validator(mode="after")
    def _unique_cameras(self) -> EdgeConfig:
        ids = [camera.id for camera in self.cameras]
        duplicates = sorted({item for item in ids if ids.count(item) > 1})
        if duplicates:
            raise ValueError(f"duplicate camera id(s): {', '.join(duplicates)}")
        return self

    def camera(self, camera_id: str | None) -> CameraConfig:
        if camera_id is None:
            return self.cameras[0]
        for camera in self.cameras:
            if camera.id == camera_id:
                return camera
        known = ", ".join(camera.id for camera in self.cameras)
        raise ConfigError(f"no camera {camera_id!r} in config (known: {known})")

    def fingerprint(self) -> str:
        """A stable hash of everything that changes what is counted (not credentials)."""
        relevant = self.model_dump(
            mode="json", include={"store_id", "cameras", "detector", "tracker", "counting"}
        )
        for camera in relevant["cameras"]:
            camera["source"] = {"stride": camera["source"]["stride"]}
        encoded = json.dumps(relevant, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(encoded).hexdigest()[:16]


def parse_config(data: Any, origin: str = "config") -> EdgeConfig:
    if not isinstance(data, dict):
        raise ConfigError(
            f"{origin}: expected a mapping at the top level, got {type(data).__name__}"
        )
    try:
        return EdgeConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"{origin}: invalid settings:\n{describe_errors(error)}") from None


def load_config(path: Path) -> EdgeConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read config {path}: {error.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from None
    return parse_config(data, origin=str(path))

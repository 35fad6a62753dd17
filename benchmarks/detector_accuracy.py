"""Detector accuracy and speed on a clip with MOT ground truth: backend × input size × tiling.

For each setting: recall and precision of person boxes at IoU ≥ 0.5 against the ground truth
(optimal one-to-one matching per frame), per-frame people-count MAE (detections vs true
people), and mean detector milliseconds per frame (letterbox + inference + decoding, one frame
per call as in a live worker). Every ``--stride``-th frame is used.

    python benchmarks/detector_accuracy.py                       # PETS09-S2L1 from ../shared
    python benchmarks/detector_accuracy.py --only openvino --markdown table.md

Exports the bundled yolo11n-pose (dynamic and fixed square shapes) into ``--models-dir``
first when missing (needs torch). Timings depend on what else runs on the machine: after
the accuracy pass, every setting is timed again in interleaved rounds and the fastest figure
is reported, so settings are compared under the same load.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge.config import DetectorConfig, TilingConfig
from edge.vision.detections import People
from edge.vision.detector import Detector, UltralyticsDetector
from edge.vision.export import ExportRequest, export_model
from edge.vision.runtime.metadata import ExportedModel, ExportFormat
from edge.vision.tiling import TiledDetector

FloatArray = npt.NDArray[np.float64]
FOOTAGE = Path(__file__).resolve().parents[2] / "shared" / "footage" / "PETS09-S2L1"
MATCH_IOU = 0.5


@dataclass(frozen=True)
class Setting:
    backend: str
    """ultralytics | onnxruntime | openvino | openvino-f32"""
    imgsz: int
    shape: str = "rect"
    """rect: smallest stride-multiple rectangle (dynamic export); square: imgsz×imgsz."""
    tiles: tuple[int, int] | None = None
    overlap: float = 0.2
    """Fraction of a tile shared with its neighbour."""

    @property
    def label(self) -> str:
        tiling = "none"
        if self.tiles:
            tiling = f"{self.tiles[0]}×{self.tiles[1]} tiles, overlap {self.overlap:g}"
        return f"| {self.backend} | {self.imgsz} {self.shape} | {tiling} |"


SETTINGS = [
    Setting("ultralytics", 1280),
    Setting("onnxruntime", 640, "square"),
    Setting("onnxruntime", 960),
    Setting("onnxruntime", 1280),
    Setting("onnxruntime", 1280, "square"),
    Setting("onnxruntime", 640, tiles=(2, 2)),
    Setting("onnxruntime", 640, tiles=(2, 2), overlap=0.35),
    Setting("openvino-f32", 1280),
    Setting("openvino", 640, "square"),
    Setting("openvino", 640),
    Setting("openvino", 960),
    Setting("openvino", 1088),
    Setting("openvino", 1152),
    Setting("openvino", 1280),
    Setting("openvino", 1280, "square"),
    Setting("openvino", 1408),
    Setting("openvino", 640, tiles=(2, 2)),
    Setting("openvino", 640, tiles=(2, 2), overlap=0.35),
    Setting("openvino", 768, tiles=(2, 2)),
]


def load_frames(video: Path, stride: int, limit: int | None) -> dict[int, npt.NDArray[np.uint8]]:
    """1-based frame number → BGR frame, every ``stride``-th frame."""
    capture = cv2.VideoCapture(str(video))
    frames: dict[int, npt.NDArray[np.uint8]] = {}
    number = 0
    while True:
        ok, image = capture.read()
        if not ok or (limit is not None and len(frames) >= limit):
            break
        number += 1
        if (number - 1) % stride == 0:
            frames[number] = np.asarray(image, dtype=np.uint8)
    capture.release()
    return frames


def load_truth(path: Path) -> dict[int, FloatArray]:
    """MOT gt.txt → 1-based frame number → N×4 ``x1, y1, x2, y2`` source pixels."""
    rows = np.loadtxt(path, delimiter=",", ndmin=2)
    truth: dict[int, FloatArray] = {}
    for frame in np.unique(rows[:, 0]).astype(int):
        boxes = rows[rows[:, 0] == frame, 2:6]
        truth[int(frame)] = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)
    return truth


def pairwise_iou(first: FloatArray, second: FloatArray) -> FloatArray:
    top_left = np.maximum(first[:, None, :2], second[None, :, :2])
    bottom_right = np.minimum(first[:, None, 2:], second[None, :, 2:])
    intersection = np.prod(np.clip(bottom_right - top_left, 0, None), axis=2)
    area_first = np.prod(first[:, 2:] - first[:, :2], axis=1)
    area_second = np.prod(second[:, 2:] - second[:, :2], axis=1)
    union = area_first[:, None] + area_second[None, :] - intersection
    iou: FloatArray = intersection / np.maximum(union, 1e-9)
    return iou


def true_positives(found: FloatArray, truth: FloatArray) -> int:
    """Optimal one-to-one matches with IoU ≥ 0.5."""
    if len(found) == 0 or len(truth) == 0:
        return 0
    iou = pairwise_iou(found, truth)
    rows, columns = linear_sum_assignment(-iou)
    return int((iou[rows, columns] >= MATCH_IOU).sum())


@dataclass(frozen=True)
class Measurement:
    recall: float
    precision: float
    count_mae: float
    milliseconds: float


def measure(
    detector: Detector,
    frames: dict[int, npt.NDArray[np.uint8]],
    truth: dict[int, FloatArray],
) -> Measurement:
    images = list(frames.values())
    for image in images[:2]:
        detector.detect([image])  # warm-up: compilation, memory arenas
    found: dict[int, People] = {}
    started = time.perf_counter()
    for number, image in frames.items():
        found[number] = detector.detect([image])[0]
    seconds = time.perf_counter() - started
    matched = detected = present = 0
    errors = []
    for number, people in found.items():
        true_boxes = truth.get(number, np.zeros((0, 4)))
        matched += true_positives(people.boxes, true_boxes)
        detected += len(people)
        present += len(true_boxes)
        errors.append(abs(len(people) - len(true_boxes)))
    return Measurement(
        recall=matched / max(present, 1),
        precision=matched / max(detected, 1),
        count_mae=float(np.mean(errors)),
        milliseconds=1000 * seconds / len(frames),
    )


def ensure_exports(models: Path) -> dict[str, ExportedModel]:
    """Dynamic ONNX + OpenVINO IR exports and fixed square ONNX exports at 640 and 1280."""
    requests = {
        "onnx": ExportRequest(output_dir=models),
        "openvino": ExportRequest(output_dir=models, format=ExportFormat.OPENVINO),
        "square640": ExportRequest(output_dir=models, imgsz=640, dynamic=False),
        "square1280": ExportRequest(output_dir=models, imgsz=1280, dynamic=False),
    }
    return {
        name: export_model(request, if_missing=True).exported for name, request in requests.items()
    }


def build(
    setting: Setting, exports: dict[str, ExportedModel], threads: int, confidence: float
) -> Detector:
    from edge.vision.runtime.onnx_runtime import OnnxRuntimeDetector
    from edge.vision.runtime.openvino_runtime import OpenVinoDetector

    config = DetectorConfig(imgsz=setting.imgsz, threads=threads, confidence=confidence)
    exported = exports["onnx"]
    if setting.shape == "square":
        exported = exports[f"square{setting.imgsz}"]
    detector: Detector
    if setting.backend == "ultralytics":
        detector = UltralyticsDetector(config)
    elif setting.backend == "onnxruntime":
        detector = OnnxRuntimeDetector(exported, config)
    elif setting.backend == "openvino-f32":
        detector = OpenVinoDetector(exported, config, precision="f32")
    else:
        if setting.shape == "rect":
            exported = exports["openvino"]
        detector = OpenVinoDetector(exported, config)
    if setting.tiles is not None:
        rows, columns = setting.tiles
        tiling = TilingConfig(rows=rows, columns=columns, overlap=setting.overlap)
        detector = TiledDetector(detector, tiling)
    return detector


def time_per_frame(detector: Detector, images: Sequence[npt.NDArray[np.uint8]]) -> float:
    """Mean milliseconds per single-frame ``detect`` call over ``images``."""
    started = time.perf_counter()
    for image in images:
        detector.detect([image])
    return 1000 * (time.perf_counter() - started) / len(images)


def run(
    settings: Sequence[Setting],
    frames: dict[int, npt.NDArray[np.uint8]],
    truth: dict[int, FloatArray],
    build_detector: Callable[[Setting], Detector],
    emit: Callable[[str], None],
    timing_rounds: int,
) -> None:
    """Accuracy over all frames per setting, then ``timing_rounds`` interleaved rounds of
    timing on 20 frames, so that every setting meets the same load from other processes;
    the table gives the fastest of the full pass and the rounds."""
    detectors = {}
    results = {}
    for setting in settings:
        detectors[setting] = build_detector(setting)
        results[setting] = measure(detectors[setting], frames, truth)
        print(f"measured {setting.label}", flush=True)
    timings = {setting: [results[setting].milliseconds] for setting in settings}
    sample = list(frames.values())[:: max(1, len(frames) // 20)][:20]
    for _ in range(timing_rounds):
        for setting in settings:
            timings[setting].append(time_per_frame(detectors[setting], sample))
    emit("| backend | input (imgsz, shape) | tiling | recall | precision | count MAE | ms/frame |")
    emit("|---|---|---|---:|---:|---:|---:|")
    for setting in settings:
        result = results[setting]
        emit(
            f"{setting.label} {result.recall:.1%} | {result.precision:.1%} | "
            f"{result.count_mae:.2f} | {min(timings[setting]):.0f} |"
        )


def main(arguments: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=FOOTAGE / "vtest.avi")
    parser.add_argument("--truth", type=Path, default=FOOTAGE / "gt" / "gt.txt")
    parser.add_argument("--stride", type=int, default=4, help="use every Nth frame")
    parser.add_argument("--limit", type=int, default=None, help="at most this many frames")
    parser.add_argument("--threads", type=int, default=0, help="runtime threads (0: all)")
    parser.add_argument(
        "--confidence",
        type=float,
        default=DetectorConfig().confidence,
        help="detection score threshold (default: the shipped default)",
    )
    parser.add_argument("--models-dir", type=Path, default=Path("build/benchmark-models"))
    parser.add_argument("--only", default="", help="comma-separated backends to run")
    parser.add_argument(
        "--timing-rounds", type=int, default=3, help="interleaved timing rounds of 20 frames"
    )
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table here")
    options = parser.parse_args(arguments)
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "False")
    frames = load_frames(options.video, options.stride, options.limit)
    truth = load_truth(options.truth)
    exports = ensure_exports(options.models_dir)
    wanted = {name for name in options.only.split(",") if name}
    settings = [item for item in SETTINGS if not wanted or item.backend in wanted]
    print(
        f"{options.video.name}: {len(frames)} frames (every {options.stride}th), "
        f"confidence {options.confidence:g}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    lines: list[str] = []

    def emit(line: str) -> None:
        lines.append(line)
        print(line, flush=True)

    def build_detector(setting: Setting) -> Detector:
        return build(setting, exports, options.threads, options.confidence)

    run(settings, frames, truth, build_detector, emit, options.timing_rounds)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    if options.markdown is not None:
        options.markdown.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""INT8 for one camera, used only when it counts as well as float32 on that camera's footage.

``quantize_camera`` (``footfall edge quantize``):

1. calibration inputs from the camera's recording, as the detector sees them (its regions of
   interest at the full-frame scale), and NNCF post-training quantisation into
   ``{models}/{export}-openvino-int8-{camera}`` (``edge/vision/quantize.py``);
2. the accuracy check: the recording is counted through the whole pipeline (the config's
   settings, this camera's lines and zones) with float32 and with INT8, both on OpenVINO.
   With ground truth (MOT ``gt.txt``), INT8 passes when it makes no more crossing errors than
   float32 on any line and direction and its per-frame people-count MAE is at most
   ``MAE_TOLERANCE`` above float32's; without ground truth, when it counts exactly float32's
   crossings and its per-frame people count differs from float32's by at most
   ``MAE_TOLERANCE`` on average;
3. an export that fails is deleted, so the camera keeps float32; one that passes is named in
   the result, to be set as ``detector.model``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from edge.audit import load_mot, true_crossings
from edge.config import EdgeConfig
from edge.counting.counters import Direction
from edge.replay import ReplayReport, replay
from edge.vision.detector import DetectorUnavailableError, exported_model
from edge.vision.quantize import calibration_inputs, int8_directory, quantize_export
from edge.vision.runtime.metadata import models_dir
from edge.vision.runtime.openvino_runtime import OpenVinoDetector

MAE_TOLERANCE = 0.05
"""People per frame: how much worse INT8 may count than float32 (issue 10)."""


@dataclass(frozen=True)
class CheckRun:
    """One precision's counts on the footage: crossings per line and direction, people MAE
    (against the truth, or against float32 when there is none), fps."""

    crossings: dict[str, dict[str, int]]
    errors: dict[str, dict[str, int]]
    people_mae: float
    fps: float


@dataclass(frozen=True)
class QuantizeResult:
    directory: Path
    calibration_inputs: int
    float32: CheckRun
    int8: CheckRun
    passed: bool
    reasons: list[str] = field(default_factory=list)


def _per_frame_truth(truth: Path, frames: int) -> list[int]:
    people = [0] * frames
    for box in load_mot(truth):
        if box.frame <= frames:
            people[box.frame - 1] += 1
    return people


def _check_run(
    report: ReplayReport, true_lines: dict[str, dict[str, int]] | None, reference: list[int]
) -> CheckRun:
    crossings = report.lines
    errors = {
        line: {
            direction: (counts[direction] - true_lines[line][direction]) if true_lines else 0
            for direction in ("in", "out")
        }
        for line, counts in crossings.items()
    }
    detected = [record.detected for record in report.per_frame]
    mae = sum(abs(a - b) for a, b in zip(detected, reference, strict=False)) / max(len(detected), 1)
    return CheckRun(crossings, errors, round(mae, 4), round(report.fps, 2))


def quantize_camera(
    config: EdgeConfig, camera_id: str, truth: Path | None, samples: int = 300
) -> QuantizeResult:
    """Quantise, check and keep or delete (module docstring). ``camera_id``'s source must be a
    recording of that camera."""
    camera = config.camera(camera_id)
    single = config.model_copy(update={"cameras": [camera]})
    exported = exported_model(config.detector)
    if exported is None or exported.metadata.precision != "f32":
        raise DetectorUnavailableError(
            "no float32 export of the configured model to quantise: run 'footfall edge export'"
        )
    float32 = OpenVinoDetector(exported, config.detector, precision="f32")
    blobs = calibration_inputs(float32, camera, config.detector.regions, samples)
    destination = int8_directory(exported, camera.id, models_dir())
    quantized = quantize_export(exported, blobs, destination, calibrated_on=camera.source.uri)
    float32_report = replay(single, camera.id, detector=float32)
    int8_report = replay(single, camera.id, detector=OpenVinoDetector(quantized, config.detector))
    true_lines = None
    if truth is not None:
        boxes = load_mot(truth)
        true_lines = {
            line: {"in": counts[Direction.ENTRY], "out": counts[Direction.EXIT]}
            for line, counts in true_crossings(boxes, camera).items()
        }
        reference = _per_frame_truth(truth, float32_report.frames)
    else:
        reference = [record.detected for record in float32_report.per_frame]
    float32_run = _check_run(float32_report, true_lines, reference)
    int8_run = _check_run(int8_report, true_lines, reference)
    reasons = _failures(float32_run, int8_run, with_truth=truth is not None)
    if reasons:
        shutil.rmtree(destination, ignore_errors=True)
    return QuantizeResult(destination, len(blobs), float32_run, int8_run, not reasons, reasons)


def _failures(float32: CheckRun, int8: CheckRun, with_truth: bool) -> list[str]:
    reasons = []
    for line, directions in int8.crossings.items():
        for direction, counted in directions.items():
            reference = float32.crossings[line][direction]
            if with_truth:
                worse = abs(int8.errors[line][direction]) > abs(float32.errors[line][direction])
            else:
                worse = counted != reference
            if worse:
                reasons.append(
                    f"line {line} {direction}: INT8 counted {counted}, float32 {reference}"
                )
    limit = (float32.people_mae if with_truth else 0.0) + MAE_TOLERANCE
    if int8.people_mae > limit + 1e-9:
        reasons.append(f"people per frame: INT8 MAE {int8.people_mae:.3f} > {limit:.3f}")
    return reasons

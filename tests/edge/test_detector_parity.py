"""The torch-free backends see the same people as ultralytics on real frames of PETS09-S2L1:
same boxes within 1 px, same scores within 0.01, at the same input size."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.config import DetectorConfig
from edge.vision.detections import People
from edge.vision.detector import Detector, Frame
from edge.vision.runtime.metadata import ExportFormat
from tests.edge.exported_models import exported

FRAME_NUMBERS = (0, 120, 260, 390)
"""0-based frames of the clip: 3 to 8 people each, some of them small and far away."""


@pytest.fixture(scope="module")
def frames(footage: Path) -> list[Frame]:
    capture = cv2.VideoCapture(str(footage / "vtest.avi"))
    picked = []
    for index in range(max(FRAME_NUMBERS) + 1):
        ok, image = capture.read()
        assert ok, f"cannot read frame {index} of the clip"
        if index in FRAME_NUMBERS:
            picked.append(np.asarray(image, dtype=np.uint8))
    capture.release()
    return picked


@pytest.fixture(scope="module")
def reference(frames: list[Frame]) -> dict[int, list[People]]:
    """ultralytics (torch) detections per imgsz: the reference."""
    pytest.importorskip("ultralytics", reason="the reference backend needs ultralytics")
    from edge.vision.detector import UltralyticsDetector

    return {
        imgsz: [UltralyticsDetector(DetectorConfig(imgsz=imgsz)).detect([f])[0] for f in frames]
        for imgsz in (960, 1280)
    }


def runtime_detector(backend: str, imgsz: int) -> Detector:
    config = DetectorConfig(imgsz=imgsz)
    if backend == "onnxruntime":
        from edge.vision.runtime.onnx_runtime import OnnxRuntimeDetector

        return OnnxRuntimeDetector(exported(ExportFormat.ONNX), config)
    from edge.vision.runtime.openvino_runtime import OpenVinoDetector

    return OpenVinoDetector(exported(ExportFormat.OPENVINO), config, precision="f32")


def assert_same_people(expected: People, actual: People, pixels: float, score: float) -> None:
    assert len(actual) == len(expected)
    # pair each reference box with the runtime box nearest to it (order may differ on ties)
    distance = np.abs(expected.boxes[:, None, :] - actual.boxes[None, :, :]).max(axis=2)
    nearest = distance.argmin(axis=1)
    assert sorted(nearest.tolist()) == list(range(len(actual)))
    assert distance[np.arange(len(expected)), nearest].max(initial=0.0) <= pixels
    assert np.abs(expected.scores - actual.scores[nearest]).max(initial=0.0) <= score
    assert expected.keypoints is not None
    assert actual.keypoints is not None
    keypoint_error = np.abs(expected.keypoints - actual.keypoints[nearest])
    assert keypoint_error[..., :2].max(initial=0.0) <= pixels
    assert keypoint_error[..., 2].max(initial=0.0) <= score


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
@pytest.mark.parametrize("imgsz", [960, 1280])
def test_runtime_matches_ultralytics(
    frames: list[Frame], reference: dict[int, list[People]], backend: str, imgsz: int
) -> None:
    detector = runtime_detector(backend, imgsz)
    found = [detector.detect([frame])[0] for frame in frames]
    assert sum(len(people) for people in reference[imgsz]) >= (10 if imgsz == 960 else 20)
    for expected, actual in zip(reference[imgsz], found, strict=True):
        assert_same_people(expected, actual, pixels=1.0, score=0.01)


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_a_batch_gives_what_single_frames_give(
    frames: list[Frame], reference: dict[int, list[People]], backend: str
) -> None:
    """OpenVINO runs the four frames as one batch; ONNX Runtime one by one (batching is
    slower there)."""
    detector = runtime_detector(backend, 1280)
    batched = detector.detect(frames)
    for expected, actual in zip(reference[1280], batched, strict=True):
        assert_same_people(expected, actual, pixels=1.0, score=0.01)

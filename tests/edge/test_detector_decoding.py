"""Decoding of raw YOLO outputs, letterbox arithmetic and export metadata: pure, no model."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from edge.vision.letterbox import Letterbox, rectangular_input_shape, to_blob
from edge.vision.runtime.decoding import DecodingSettings, decode_batch
from edge.vision.runtime.metadata import (
    ExportFormat,
    InvalidModelError,
    ModelMetadata,
    find_exports,
    load_exported_model,
    write_metadata,
)


def raw_output(rows: list[list[float]]) -> np.ndarray:
    """Rows of ``cx, cy, w, h, class scores..., keypoints...`` → a 1×C×N model output."""
    return np.asarray(rows, dtype=np.float32).T[None]


def test_decoding_keeps_the_best_of_overlapping_boxes_and_drops_low_scores() -> None:
    settings = DecodingSettings(confidence=0.25, iou=0.7, class_count=1)
    output = raw_output(
        [
            [100, 100, 20, 60, 0.90],  # kept
            [101, 101, 20, 60, 0.80],  # IoU 0.91 with the first: suppressed
            [300, 200, 30, 90, 0.60],  # kept
            [500, 200, 30, 90, 0.25],  # not above the threshold
        ]
    )
    (people,) = decode_batch(output, settings)
    np.testing.assert_allclose(people.boxes, [[90, 70, 110, 130], [285, 155, 315, 245]])
    np.testing.assert_allclose(people.scores, [0.9, 0.6], rtol=1e-6)
    assert people.keypoints is None


def test_decoding_keeps_people_only_and_reshapes_keypoints() -> None:
    settings = DecodingSettings(confidence=0.25, iou=0.7, class_count=2, keypoint_shape=(2, 3))
    output = raw_output(
        [
            [50, 50, 10, 10, 0.9, 0.1, 48, 52, 0.9, 51, 53, 0.2],  # a person
            [150, 50, 10, 10, 0.3, 0.95, 0, 0, 0, 0, 0, 0],  # best class is not person
        ]
    )
    (people,) = decode_batch(output, settings)
    assert len(people.boxes) == 1
    assert people.keypoints is not None
    np.testing.assert_allclose(people.keypoints, [[[48, 52, 0.9], [51, 53, 0.2]]], rtol=1e-6)


def test_decoding_an_empty_image_and_a_wrong_shape() -> None:
    settings = DecodingSettings(confidence=0.5, iou=0.7, class_count=1, keypoint_shape=(17, 3))
    (people,) = decode_batch(np.zeros((1, 56, 8400), dtype=np.float32), settings)
    assert people.boxes.shape == (0, 4)
    assert people.keypoints is not None
    assert people.keypoints.shape == (0, 17, 3)
    with pytest.raises(ValueError, match=r"expected B×56×N"):
        decode_batch(np.zeros((1, 84, 10), dtype=np.float32), settings)


@pytest.mark.parametrize(
    ("height", "width", "imgsz", "expected"),
    [
        (576, 768, 1280, (960, 1280)),
        (576, 768, 640, (480, 640)),
        (576, 768, 960, (736, 960)),
        (1080, 1920, 1280, (736, 1280)),
        (1920, 1080, 640, (640, 384)),
        (640, 640, 640, (640, 640)),
    ],
)
def test_rectangular_input_shape(
    height: int, width: int, imgsz: int, expected: tuple[int, int]
) -> None:
    assert rectangular_input_shape(height, width, imgsz, stride=32) == expected


def test_letterbox_pads_centrally_and_maps_back_to_source_pixels() -> None:
    letterbox = Letterbox(frame_height=576, frame_width=768, input_height=1280, input_width=1280)
    assert (letterbox.resized_height, letterbox.resized_width) == (960, 1280)
    assert (letterbox.pad_left, letterbox.pad_top) == (0, 160)
    frame = np.full((576, 768, 3), 200, dtype=np.uint8)
    image = letterbox.apply(frame)
    assert image.shape == (1280, 1280, 3)
    assert image[0, 0, 0] == 114
    assert image[159, 0, 0] == 114
    assert image[160, 0, 0] == 200
    assert image[1119, 1279, 0] == 200
    assert image[1120, 0, 0] == 114
    boxes = np.array([[0.0, 160.0, 1280.0, 1120.0], [100.0, 200.0, 150.0, 350.0]])
    np.testing.assert_allclose(
        letterbox.boxes_to_source(boxes), [[0, 0, 768, 576], [60, 24, 90, 114]]
    )
    keypoints = np.array([[[100.0, 100.0, 0.7]]])  # inside the top padding: clipped to y = 0
    np.testing.assert_allclose(letterbox.keypoints_to_source(keypoints), [[[60, 0, 0.7]]])
    with pytest.raises(ValueError, match="this letterbox is for 768×576"):
        letterbox.apply(np.zeros((10, 10, 3), dtype=np.uint8))


def test_blob_is_rgb_scaled_to_one() -> None:
    image = np.zeros((4, 6, 3), dtype=np.uint8)
    image[..., 0] = 255  # blue in BGR
    blob = to_blob([image, image])
    assert blob.shape == (2, 3, 4, 6)
    assert blob.dtype == np.float32
    assert blob[0, 2].max() == pytest.approx(1.0)  # blue is the last RGB channel
    assert blob[0, 0].max() == 0.0


def metadata(**changes: object) -> ModelMetadata:
    values: dict[str, object] = {
        "format": ExportFormat.ONNX,
        "task": "pose",
        "imgsz": 1280,
        "class_names": {0: "person"},
        "keypoint_shape": (17, 3),
        "source_model": "yolo11n-pose.pt",
        "source_sha256": "ab" * 32,
        "ultralytics_version": "8.4.0",
        "exported_utc": datetime(2026, 1, 1, tzinfo=UTC),
    }
    values.update(changes)
    return ModelMetadata.model_validate(values)


def test_metadata_accepts_sizes_by_shape() -> None:
    dynamic = metadata()
    assert dynamic.dynamic
    assert dynamic.accepts(960)
    assert not dynamic.accepts(1000)
    fixed = metadata(input_height=960, input_width=1280, batch=1)
    assert fixed.shape_label() == "960x1280"
    assert fixed.accepts(1280)
    assert not fixed.accepts(960)


def test_exports_are_found_by_source_and_broken_ones_are_named(tmp_path: Path) -> None:
    for name, sha in (("a", "ab" * 32), ("b", "cd" * 32)):
        directory = tmp_path / name
        directory.mkdir()
        (directory / "model.onnx").write_bytes(b"")
        write_metadata(directory, metadata(source_sha256=sha))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "footfall.json").write_text("{}")
    found = find_exports(tmp_path, source_sha256="cd" * 32)
    assert [item.directory.name for item in found] == ["b"]
    assert len(find_exports(tmp_path, source_model="yolo11n-pose.pt")) == 2
    with pytest.raises(InvalidModelError, match=r"footfall\.json is invalid"):
        load_exported_model(tmp_path / "broken")
    with pytest.raises(InvalidModelError, match=r"no footfall\.json"):
        load_exported_model(tmp_path)

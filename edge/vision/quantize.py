"""INT8 post-training quantisation with OpenVINO NNCF, calibrated on a camera's own footage.

``calibration_inputs`` spreads ``samples`` frames evenly over a recording of the camera and
turns each into the network inputs the detector really runs there: its regions of interest at
the full-frame scale (``edge/vision/regions.py``), or the full frame. ``quantize_export``
calibrates NNCF's post-training quantisation on them (mixed preset: symmetric weights,
asymmetric activations) and keeps the end of the YOLO head, which decodes boxes and keypoints,
in floating point, as ultralytics' own INT8 export does; it writes an OpenVINO IR export with
``precision: int8`` in its metadata. Whether the result may be used is decided elsewhere
(``edge/quantize.py``: an accuracy check on the same footage).

NNCF is imported only here, and only when quantising (``pip install 'footfall[edge]'``).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge.config import CameraConfig, RegionsConfig
from edge.vision.letterbox import Blob, to_blob
from edge.vision.regions import RegionDetector
from edge.vision.runtime.base import ExportedModelDetector
from edge.vision.runtime.metadata import ExportedModel, ExportFormat, write_metadata
from edge.vision.sources import open_source

HEAD_DECODING_PATTERNS = (
    r".*/model\.\d+/(Add|Sub|Mul|Div)(_\d+)?$",
    r".*/model\.\d+/dfl/.*",
)
"""Operations of the detection head that turn its outputs into pixels and scores: kept in
floating point (their values span the whole input size; 8 bits would cost whole pixels)."""


def calibration_inputs(
    detector: ExportedModelDetector,
    camera: CameraConfig,
    regions: RegionsConfig,
    samples: int,
) -> list[Blob]:
    """One 1×3×H×W input per region (or full frame) of ``samples`` frames spread evenly over
    the camera's recording."""
    if samples < 1:
        raise ValueError(f"samples must be at least 1, got {samples}")
    planner = RegionDetector(detector, regions)
    blobs: list[Blob] = []
    sampled = 0
    source = open_source(camera.source)
    step = max(1, source.frame_count // samples)
    try:
        for frame in source:
            if frame.index % step or sampled >= samples:
                continue
            sampled += 1
            plan = planner.plan(camera, frame.image)
            if plan.full_frame:
                height, width = frame.image.shape[:2]
                letterbox = detector.letterbox_for(height, width)
                blobs.append(to_blob([letterbox.apply(frame.image)]))
                continue
            for region in plan.regions:
                crop = region.crop(frame.image)
                letterbox = detector.letterbox_at_scale(crop.shape[0], crop.shape[1], plan.scale)
                blobs.append(to_blob([letterbox.apply(crop)]))
    finally:
        source.close()
    return blobs


def int8_directory(exported: ExportedModel, camera_id: str, models: Path) -> Path:
    name = exported.directory.name.removesuffix(f"-{exported.metadata.format}")
    return models / f"{name}-openvino-int8-{camera_id}"


def quantize_export(
    exported: ExportedModel,
    blobs: Sequence[Blob],
    destination: Path,
    calibrated_on: str,
) -> ExportedModel:
    """Quantise ``exported`` (ONNX or OpenVINO IR, float32) to INT8 into ``destination``."""
    import nncf
    import openvino

    nncf.set_log_level(logging.ERROR)
    core: Any = openvino.Core()
    model = core.read_model(str(exported.model_file))
    dataset = nncf.Dataset(list(blobs))
    quantized = nncf.quantize(
        model,
        dataset,
        preset=nncf.QuantizationPreset.MIXED,
        subset_size=len(blobs),
        ignored_scope=nncf.IgnoredScope(
            patterns=list(HEAD_DECODING_PATTERNS), types=["Sigmoid"], validate=False
        ),
    )
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    openvino.save_model(quantized, str(destination / "model.xml"), compress_to_fp16=False)
    metadata = exported.metadata.model_copy(
        update={
            "format": ExportFormat.OPENVINO,
            "precision": "int8",
            "calibrated_on": calibrated_on,
            "exported_utc": datetime.now(UTC).replace(microsecond=0),
        }
    )
    write_metadata(destination, metadata)
    return ExportedModel(directory=destination, metadata=metadata)

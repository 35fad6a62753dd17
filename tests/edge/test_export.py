"""``footfall edge export``: a runtime model plus metadata, made once, offline."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge.offline import bundled_weights
from edge.vision.runtime.metadata import ExportFormat, file_sha256, load_exported_model
from footfall.cli import app
from tests.edge.exported_models import exported, models_dir

pytest.importorskip("ultralytics", reason="exporting needs ultralytics and torch")


def test_export_writes_a_dynamic_onnx_model_and_its_metadata() -> None:
    model = exported(ExportFormat.ONNX)
    metadata = model.metadata
    assert model.directory.name == f"yolo11n-pose-{metadata.source_sha256[:8]}-dynamic-onnx"
    assert model.model_file.stat().st_size > 5_000_000
    assert metadata.task == "pose"
    assert metadata.class_names == {0: "person"}
    assert metadata.keypoint_shape == (17, 3)
    assert metadata.keypoint_layout == "coco17"
    assert (metadata.input_height, metadata.input_width, metadata.batch) == (None, None, None)
    assert metadata.imgsz == 1280
    assert metadata.stride == 32
    assert metadata.source_model == "yolo11n-pose.pt"
    assert metadata.source_sha256 == file_sha256(bundled_weights())
    assert metadata.ultralytics_version.startswith("8.")
    assert load_exported_model(model.model_file) == model

    import onnxruntime

    session = onnxruntime.InferenceSession(str(model.model_file))
    (model_input,) = session.get_inputs()
    assert model_input.shape[1] == 3
    assert all(isinstance(size, str) for size in model_input.shape[::2])  # batch, height, width
    assert session.get_outputs()[0].shape[1] == 56  # 4 box + 1 class + 17×3 keypoints


def test_if_missing_keeps_an_existing_export() -> None:
    model = exported(ExportFormat.ONNX)
    result = CliRunner().invoke(
        app, ["edge", "export", "--output", str(models_dir(ExportFormat.ONNX)), "--if-missing"]
    )
    assert result.exit_code == 0, result.output
    assert "already exported" in result.output
    assert load_exported_model(model.directory).metadata.exported_utc == model.metadata.exported_utc


def test_fixed_rectangular_export_for_a_4_by_3_camera(tmp_path: Path) -> None:
    options = ["--imgsz", "640", "--fixed", "--frame-size", "768x576"]
    result = CliRunner().invoke(app, ["edge", "export", "--output", str(tmp_path), *options])
    assert result.exit_code == 0, result.output
    (directory,) = tmp_path.iterdir()
    model = load_exported_model(directory)
    assert directory.name.endswith("-480x640-onnx")
    assert (model.metadata.input_height, model.metadata.input_width) == (480, 640)
    assert model.metadata.batch == 1
    assert model.metadata.accepts(640)
    assert not model.metadata.accepts(1280)

    import onnxruntime

    session = onnxruntime.InferenceSession(str(model.model_file))
    assert session.get_inputs()[0].shape == [1, 3, 480, 640]


def test_openvino_export_has_its_ir_files() -> None:
    model = exported(ExportFormat.OPENVINO)
    assert model.model_file.name == "model.xml"
    assert (model.directory / "model.bin").stat().st_size > 5_000_000
    assert model.metadata.format is ExportFormat.OPENVINO


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--frame-size", "768x576"], "cannot go with a dynamic export"),
        (["--format", "tflite"], "'tflite' is not a valid ExportFormat"),
        (["--imgsz", "1000"], "multiple of 32"),
        (["--model", "/nonexistent/model.pt"], "not found"),
    ],
)
def test_bad_export_requests_fail_with_a_message(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, ["edge", "export", "--output", str(tmp_path), *arguments])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())

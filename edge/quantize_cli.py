"""``footfall edge quantize``: INT8 for one camera, kept only when it counts as well as float32
on that camera's footage (``edge/quantize.py``)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from command_line.exit_codes import ExitCode, fail
from edge.offline import ModelNotFoundError
from edge.vision.sources import SourceError
from protocol.settings import ConfigError

console = Console(stderr=True, soft_wrap=True)


def quantize_command(
    video: str = typer.Argument(..., help="A recording of the camera (file or image folder)"),
    config: Path = typer.Option(..., "--config", "-c", help="Edge YAML config"),
    camera: str | None = typer.Option(None, "--camera", help="Camera id in the config"),
    truth: Path | None = typer.Option(
        None, "--truth", help="MOT ground truth of the recording (else INT8 must match f32)"
    ),
    samples: int = typer.Option(300, "--samples", min=1, help="Calibration frames"),
    fps: float | None = typer.Option(None, "--fps", help="Override the source frame rate"),
) -> None:
    """Quantise the detector to INT8 on a camera's footage (OpenVINO NNCF); keep it only when
    an accuracy check on that footage passes, else the camera stays on float32."""
    from edge.adhoc import build_config
    from edge.quantize import quantize_camera

    try:
        edge_config, camera_id = build_config(video, config, [], camera, fps)
        result = quantize_camera(edge_config, camera_id, truth, samples)
    except (ConfigError, SourceError, ModelNotFoundError, ValueError) as error:
        raise fail(str(error)) from None
    for name, run in (("float32", result.float32), ("INT8", result.int8)):
        lines = ", ".join(
            f"{line} {counts['in']} in / {counts['out']} out"
            for line, counts in run.crossings.items()
        )
        console.print(f"{name}: {lines}; people MAE {run.people_mae:.3f}; {run.fps:.1f} fps")
    if not result.passed:
        for reason in result.reasons:
            console.print(f"  {reason}")
        raise fail(
            "INT8 failed the accuracy check on this footage and was deleted: keep float32",
            ExitCode.PROBLEM,
        )
    console.print(
        f"INT8 passed ({result.calibration_inputs} calibration inputs): set detector.model: "
        f"{result.directory}"
    )

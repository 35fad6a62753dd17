"""Configs built from command-line options, for quick counts and audits without a file."""

from __future__ import annotations

import re
from pathlib import Path

from edge.config import EdgeConfig, load_config, parse_config
from protocol.settings import ConfigError

_NUMBER = r"-?\d+(?:\.\d+)?"
LINE_PATTERN = re.compile(
    rf"^(?P<name>[^=]+)=(?P<x1>{_NUMBER}),(?P<y1>{_NUMBER}),(?P<x2>{_NUMBER}),(?P<y2>{_NUMBER})"
    rf"@(?P<ix>{_NUMBER}),(?P<iy>{_NUMBER})$"
)


def parse_line_option(text: str) -> dict[str, object]:
    """``NAME=x1,y1,x2,y2@ix,iy`` → a line config mapping."""
    match = LINE_PATTERN.match(text.replace(" ", ""))
    if match is None:
        raise ConfigError(
            f"--line {text!r}: expected NAME=x1,y1,x2,y2@ix,iy (e.g. door=384,150,384,576@100,363)"
        )
    value = {key: float(number) for key, number in match.groupdict().items() if key != "name"}
    return {
        "id": match["name"],
        "points": [[value["x1"], value["y1"]], [value["x2"], value["y2"]]],
        "inside": [value["ix"], value["iy"]],
    }


def build_config(
    video: str,
    config_path: Path | None,
    line_options: list[str],
    camera_id: str | None = None,
    fps: float | None = None,
) -> tuple[EdgeConfig, str]:
    """The config to replay ``video`` with, and the camera id to use.

    With a config file, the chosen camera's source is replaced by ``video`` and ``--line``
    options are added to its lines; without one, defaults apply everywhere.
    """
    if config_path is not None:
        data = load_config(config_path).model_dump(mode="python")
    else:
        data = {"store_id": "adhoc", "cameras": [{"id": "camera", "source": {"uri": video}}]}
    cameras = data["cameras"]
    index = 0
    if camera_id is not None:
        ids = [camera["id"] for camera in cameras]
        if camera_id not in ids:
            raise ConfigError(f"no camera {camera_id!r} in {config_path} (known: {', '.join(ids)})")
        index = ids.index(camera_id)
    camera = cameras[index]
    camera["source"]["uri"] = video
    if fps is not None:
        camera["source"]["fps"] = fps
    camera["lines"] = list(camera.get("lines", [])) + [
        parse_line_option(text) for text in line_options
    ]
    return parse_config(data, origin=str(config_path or "the --line options")), camera["id"]

"""A real RTSP camera for the live-source tests: GStreamer's RTSP server (Debian
``gir1.2-gst-rtsp-server-1.0``) serving a video file as H.264 at its own frame rate.

Run with Debian's ``/usr/bin/python3`` (``python3-gi`` provides ``gi`` there, not in the
project's virtualenv)::

    /usr/bin/python3 tests/integration/rtsp_camera.py VIDEO --port PORT [--mount /camera]

Every client gets its own pipeline from the first frame (not shared), so frame k of a session
is frame k of the file. It listens on 127.0.0.1 only and prints ``ready`` once it does.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

import gi  # type: ignore[import-not-found, unused-ignore]

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # type: ignore[import-not-found, unused-ignore]  # noqa: E402

# Intra frames every second and no B-frames: a client that connects or reconnects decodes
# from its first frame, and frames leave in the order they were taken.
PIPELINE = (
    '( filesrc location="{video}" ! decodebin ! videoconvert ! video/x-raw,format=I420 '
    "! x264enc tune=zerolatency speed-preset=ultrafast pass=quant quantizer=18 "
    "key-int-max={keyframe_interval} ! video/x-h264,profile=constrained-baseline "
    "! rtph264pay name=pay0 pt=96 config-interval=1 )"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mount", default="/camera")
    parser.add_argument("--keyframe-interval", type=int, default=10)
    arguments = parser.parse_args()
    if not arguments.video.is_file():
        print(f"no such video: {arguments.video}", file=sys.stderr)
        return 2
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(arguments.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        PIPELINE.format(
            video=arguments.video.resolve(), keyframe_interval=arguments.keyframe_interval
        )
    )
    factory.set_shared(False)
    server.get_mount_points().add_factory(arguments.mount, factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{arguments.port}", file=sys.stderr)
        return 1
    loop = GLib.MainLoop()
    signal.signal(signal.SIGTERM, lambda *_: loop.quit())
    print("ready", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

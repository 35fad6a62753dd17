"""Frame sources with real decoding: files, image folders, an HTTP MJPEG stream that dies."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.config import SourceConfig
from edge.vision.sources import LiveSource, RecordedSource, SourceError, open_source


def write_video(path: Path, frames: int, fps: float = 25.0) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    for index in range(frames):
        writer.write(np.full((48, 64, 3), index % 256, np.uint8))
    writer.release()


def test_video_file_every_frame_and_stride(tmp_path: Path) -> None:
    video = tmp_path / "clip.avi"
    write_video(video, 30, fps=25.0)
    start = "2026-01-05T09:00:00+00:00"
    frames = list(RecordedSource(SourceConfig(uri=str(video), start_time_utc=start)))
    assert [frame.index for frame in frames] == list(range(30))
    base = frames[0].timestamp_seconds
    assert frames[10].timestamp_seconds - base == pytest.approx(10 / 25.0)
    strided = list(
        RecordedSource(SourceConfig(uri=str(video), stride=4, fps=10, start_time_utc=start))
    )
    assert [frame.index for frame in strided] == [0, 4, 8, 12, 16, 20, 24, 28]
    assert strided[2].timestamp_seconds - base == pytest.approx(0.8)
    assert int(strided[3].image[0, 0, 0]) == pytest.approx(12, abs=3)  # the right frame decoded


def test_image_folder_mot_layout(tmp_path: Path) -> None:
    (tmp_path / "img1").mkdir()
    for index in (3, 1, 2, 10):
        cv2.imwrite(
            str(tmp_path / "img1" / f"{index:06d}.jpg"), np.full((8, 8, 3), index, np.uint8)
        )
    with pytest.raises(SourceError, match=r"no seqinfo\.ini"):
        RecordedSource(SourceConfig(uri=str(tmp_path)))
    (tmp_path / "seqinfo.ini").write_text("[Sequence]\nframeRate=4\n")
    source = RecordedSource(SourceConfig(uri=str(tmp_path), start_time_utc="2026-01-05T09:00:00Z"))
    assert source.frame_count == 4
    frames = list(source)
    assert [int(frame.image[0, 0, 0]) for frame in frames] == [1, 2, 3, 10]  # sorted by name
    assert frames[3].timestamp_seconds - frames[0].timestamp_seconds == pytest.approx(0.75)


def test_bad_sources_name_themselves(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="neither a file nor a folder"):
        open_source(SourceConfig(uri=str(tmp_path / "missing.avi")))
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="holds no images"):
        open_source(SourceConfig(uri=str(tmp_path / "empty")))
    junk = tmp_path / "junk.avi"
    junk.write_bytes(b"not a video")
    with pytest.raises(SourceError, match="cannot decode video file"):
        open_source(SourceConfig(uri=str(junk)))


class MjpegServer:
    """Serves ``frames_per_connection`` JPEG frames as multipart MJPEG, then closes, like an
    IP camera whose stream dies."""

    def __init__(self, frames_per_connection: int, interval_seconds: float) -> None:
        self.connections = 0
        server_self = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server_self.connections += 1
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                for index in range(frames_per_connection):
                    _, jpeg = cv2.imencode(".jpg", np.full((48, 64, 3), index % 250, np.uint8))
                    body = jpeg.tobytes()
                    try:
                        self.wfile.write(
                            b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                            + str(len(body)).encode()
                            + b"\r\n\r\n"
                            + body
                            + b"\r\n"
                        )
                    except OSError:
                        return
                    time.sleep(interval_seconds)

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/stream.mjpg"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> MjpegServer:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def mjpeg() -> Iterator[MjpegServer]:
    with MjpegServer(frames_per_connection=40, interval_seconds=0.01) as server:
        yield server


def test_live_stream_newest_frame_drops_and_reconnects(mjpeg: MjpegServer) -> None:
    source = LiveSource(
        SourceConfig(uri=mjpeg.url, reconnect_initial_seconds=0.1, reconnect_max_seconds=0.4)
    )
    assert source.live
    assert source.state == "starting"
    source.start()
    taken = []
    states = set()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (mjpeg.connections < 3 or len(taken) < 5):
        frame = source.take(0.5)
        states.add(source.state)
        if frame is not None:
            taken.append(frame)
        time.sleep(0.05)  # a slow detector: the stream runs ahead
    source.close()
    assert mjpeg.connections >= 3, "the dead stream was not reopened"
    assert source.reconnects >= 2
    assert "reconnecting" in states or source.reconnects >= 2
    assert source.frames_dropped > 0
    # every captured frame was either handed out or counted as dropped
    assert source.frames_captured - source.frames_dropped - len(taken) in (0, 1)
    assert all(b.timestamp_seconds >= a.timestamp_seconds for a, b in itertools.pairwise(taken))


def test_dead_camera_backs_off_and_reports_state() -> None:
    source = LiveSource(
        SourceConfig(
            uri="http://127.0.0.1:9/nothing",
            reconnect_initial_seconds=0.05,
            reconnect_max_seconds=0.2,
        )
    )
    source.start()
    assert source.take(1.5) is None
    source.close()
    assert source.state == "reconnecting"
    # backoff 0.05, 0.1, 0.2, 0.2 ...: a handful of attempts in 1.5 s, not hundreds
    assert 2 <= source.reconnects <= 15


class StallingMjpegServer(MjpegServer):
    """The first connection sends a few frames and then goes silent without closing (a hung
    camera); later connections stream normally."""

    def __init__(self) -> None:
        super().__init__(frames_per_connection=200, interval_seconds=0.02)
        handler = self.server.RequestHandlerClass
        original = handler.do_GET  # type: ignore[attr-defined]
        server_self = self

        def do_get(request: BaseHTTPRequestHandler) -> None:
            if server_self.connections == 0:
                server_self.connections += 1
                request.send_response(200)
                request.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                request.end_headers()
                for index in range(5):
                    _, jpeg = cv2.imencode(".jpg", np.full((48, 64, 3), index, np.uint8))
                    body = jpeg.tobytes()
                    request.wfile.write(
                        b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                        + str(len(body)).encode()
                        + b"\r\n\r\n"
                        + body
                        + b"\r\n"
                    )
                time.sleep(30)
                return
            original(request)

        handler.do_GET = do_get  # type: ignore[attr-defined]


def test_stalled_stream_times_out_and_reconnects() -> None:
    with StallingMjpegServer() as server:
        source = LiveSource(
            SourceConfig(uri=server.url, read_timeout_seconds=1.0, reconnect_initial_seconds=0.1)
        )
        source.start()
        started = time.monotonic()
        frames = []
        while time.monotonic() - started < 15 and server.connections < 2:
            frame = source.take(0.5)
            if frame is not None:
                frames.append(frame)
        resumed = source.take(5.0)
        source.close()
    assert server.connections >= 2, "the stalled stream was never abandoned"
    assert time.monotonic() - started < 15
    assert source.reconnects >= 1
    assert resumed is not None

"""``footfall edge label`` without a browser: the tally being made (times from frame numbers,
add / undo / delete, the atomic write, reloading a file), frames by number from a recording
(never decoded all up front), the HTTP API and the command's errors."""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from edge.adhoc import build_config
from edge.audit import TruthError
from edge.config import LineConfig, SourceConfig
from edge.counting.counters import Direction
from edge.label_frames import BACKFILL_FRAMES, FrameStore
from edge.label_server import LabelServer, open_app
from edge.labelling import LabelError, LabelSession, seconds_text, write_atomically
from edge.tally import TallyCrossing, load_tally, tally_events
from edge.vision.recording_reader import RecordingReader
from edge.vision.sources import SourceError
from footfall.cli import app
from tests.edge.label_support import (
    DOOR,
    frame_number_of,
    jpeg_frame_number,
    write_numbered_clip,
    write_numbered_folder,
)

E, X = Direction.ENTRY, Direction.EXIT
HEADER = "time_seconds,line,direction"


def rows(path: Path) -> list[str]:
    return path.read_text().splitlines()


# -- the tally being made


def test_times_come_from_frame_numbers_at_the_clip_rate(tmp_path: Path) -> None:
    session = LabelSession(tmp_path / "tally.csv", ["door"], frames_per_second=10.0)
    session.add(6, "door", "in")
    session.add(9, "door", "out")
    session.add(1, "door", E)
    assert rows(tmp_path / "tally.csv") == [HEADER, "0,door,in", "0.5,door,in", "0.8,door,out"]
    seven = LabelSession(tmp_path / "seven.csv", ["door"], frames_per_second=7.0)
    for frame in (2, 8, 88, 5601):
        seven.add(frame, "door", "in")
    assert rows(tmp_path / "seven.csv")[1:] == [
        "0.143,door,in",
        "1,door,in",
        "12.429,door,in",
        "800,door,in",
    ]
    loaded = load_tally(tmp_path / "seven.csv", ["door"])  # the audit's reader
    assert [event.frame for event in tally_events(loaded, 7.0)] == [2, 8, 88, 5601]


def test_milliseconds_round_trip_to_the_frame_at_any_rate() -> None:
    for fps in (1.0, 6.25, 7.0, 12.5, 25.0, 29.97, 30.0, 59.94, 120.0, 240.0):
        for frame in (1, 2, 3, 1000, 123_457):
            seconds = float(seconds_text((frame - 1) / fps))
            assert round(seconds * fps) + 1 == frame, (fps, frame)


def test_add_undo_delete(tmp_path: Path) -> None:
    path = tmp_path / "tally.csv"
    session = LabelSession(path, ["door", "side"], frames_per_second=10.0, frame_count=30)
    late = session.add(21, "door", "in")
    early = session.add(3, "side", "out")
    assert [crossing.frame for crossing in session.crossings] == [3, 21]  # in time order
    assert rows(path)[1:] == ["0.2,side,out", "2,door,in"]
    assert session.undo() == early  # the one recorded last, not the latest in time
    assert rows(path)[1:] == ["2,door,in"]
    again = session.add(3, "side", "out")
    assert again.id != early.id
    assert session.delete(late.id) == late
    assert session.delete(late.id) is None
    assert rows(path)[1:] == ["0.2,side,out"]
    assert session.undo() == again
    assert session.undo() is None
    assert rows(path) == [HEADER]
    assert session.version == 6  # every change counted, the page can tell fresh from stale
    document = session.to_json()
    assert document["totals"] == {"door": {"in": 0, "out": 0}, "side": {"in": 0, "out": 0}}


def test_two_crossings_at_one_frame_are_two(tmp_path: Path) -> None:
    session = LabelSession(tmp_path / "tally.csv", ["door"], frames_per_second=10.0)
    session.add(5, "door", "in")
    session.add(5, "door", "in")  # two people side by side
    assert rows(tmp_path / "tally.csv")[1:] == ["0.4,door,in", "0.4,door,in"]


@pytest.mark.parametrize(
    ("frame", "line", "direction", "message"),
    [
        (5, "back", "in", r"unknown line 'back' \(the lines: door, side\)"),
        (5, "door", "up", r"direction 'up' must be in or out"),
        (0, "door", "in", r"frame 0 must be a whole number from 1"),
        (2.5, "door", "in", r"frame 2.5 must be a whole number from 1"),
        (True, "door", "in", r"frame True must be a whole number from 1"),
        (31, "door", "in", r"frame 31 is past the clip's last frame 30"),
    ],
)
def test_a_crossing_that_cannot_be_is_refused(
    tmp_path: Path, frame: Any, line: str, direction: str, message: str
) -> None:
    path = tmp_path / "tally.csv"
    session = LabelSession(path, ["door", "side"], frames_per_second=10.0, frame_count=30)
    with pytest.raises(LabelError, match=message):
        session.add(frame, line, direction)
    assert session.crossings == []
    assert not path.exists()  # nothing changed, nothing written


def test_reload_continues_a_tally(tmp_path: Path) -> None:
    path = tmp_path / "tally.csv"
    path.write_text(f"{HEADER}\n12.4,door,in\n\n3,door,OUT\n")  # by hand, any order
    session = LabelSession(path, ["door"], frames_per_second=7.0)
    assert session.loaded == 2
    assert [(c.frame, c.time_seconds, c.direction) for c in session.crossings] == [
        (22, 3.0, X),
        (88, 12.4, E),
    ]
    session.add(8, "door", "in")
    assert rows(path)[1:] == ["1,door,in", "3,door,out", "12.4,door,in"]  # times kept as written
    session.undo()
    session.undo()  # after a reload, the last row of the file
    assert rows(path)[1:] == ["12.4,door,in"]
    # a later sitting sees what the earlier one left
    assert load_tally(path, ["door"]) == [TallyCrossing(12.4, "door", E)]
    assert LabelSession(path, ["door"], frames_per_second=7.0).loaded == 1


def test_a_file_with_an_unknown_line_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "tally.csv"
    text = f"{HEADER}\n1,door,in\n2,back,out\n"
    path.write_text(text)
    with pytest.raises(TruthError, match=r"tally.csv:3: unknown line 'back'"):
        LabelSession(path, ["door"], frames_per_second=10.0)
    assert path.read_text() == text


def test_the_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "tally.csv"
    session = LabelSession(path, ["door"], frames_per_second=10.0)
    session.add(6, "door", "in")
    before = path.read_text()

    def broken_rename(source: Any, target: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_rename)
    with pytest.raises(LabelError, match=r"cannot write .*tally.csv: No space left on device"):
        session.add(9, "door", "out")
    assert path.read_text() == before  # the old file, whole
    assert [crossing.frame for crossing in session.crossings] == [6]  # the page agrees
    assert sorted(item.name for item in tmp_path.iterdir()) == ["tally.csv"]  # no temp left
    monkeypatch.undo()
    session.add(9, "door", "out")
    assert rows(path)[1:] == ["0.5,door,in", "0.8,door,out"]


def test_write_atomically_replaces_and_keeps_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "tally.csv"
    write_atomically(path, "a\n")
    assert path.read_text() == "a\n"
    assert path.stat().st_mode & 0o777 == 0o644
    path.chmod(0o600)
    write_atomically(path, "b\n")
    assert path.read_text() == "b\n"
    assert path.stat().st_mode & 0o777 == 0o600
    assert [item.name for item in tmp_path.iterdir()] == ["tally.csv"]


# -- frames by number


def test_reader_reads_any_frame_of_a_video_in_any_order(tmp_path: Path) -> None:
    clip = write_numbered_clip(tmp_path / "clip.avi", frames=120)
    reader = RecordingReader(SourceConfig(uri=str(clip)))
    assert (reader.frame_count, reader.frames_per_second, reader.seekable) == (120, 10.0, True)
    for index in [0, 1, 2, 119, 60, 59, 3, 100, 101, 30, 0]:
        assert [(i, frame_number_of(image)) for i, image in reader.read(index, index + 1)] == [
            (index, index + 1)
        ]
    assert [frame_number_of(image) for _, image in reader.read(40, 45)] == [41, 42, 43, 44, 45]
    assert list(reader.read(120, 121)) == []
    reader.close()


def test_reader_without_trusted_seeks_decodes_forward(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A video whose seeks land elsewhere (an MPEG program stream): counted once, a jump back
    reopens it; every frame is still the right one."""
    clip = write_numbered_clip(tmp_path / "clip.avi", frames=40)
    monkeypatch.setattr(RecordingReader, "_seek_is_exact", lambda self: False)
    reader = RecordingReader(SourceConfig(uri=str(clip)))
    assert (reader.frame_count, reader.seekable) == (40, False)
    for index in [10, 11, 3, 39, 0, 20]:
        images = [image for _, image in reader.read(index, index + 1)]
        assert [frame_number_of(image) for image in images] == [index + 1]
    reader.close()


def test_reader_of_a_folder_and_its_errors(tmp_path: Path) -> None:
    folder = write_numbered_folder(tmp_path / "clip", frames=12, fps=4)
    reader = RecordingReader(SourceConfig(uri=str(folder)))
    assert (reader.frame_count, reader.frames_per_second, reader.next_index) == (12, 4.0, None)
    assert [frame_number_of(image) for _, image in reader.read(10, 20)] == [11, 12]
    with pytest.raises(SourceError, match=r"'.*missing.avi' is neither a file nor a folder"):
        RecordingReader(SourceConfig(uri=str(tmp_path / "missing.avi")))
    with pytest.raises(SourceError, match=r"rtsp://cam/1 is a live source: a recording"):
        RecordingReader(SourceConfig(uri="rtsp://cam/1"))
    (tmp_path / "broken.avi").write_bytes(b"not a video")
    with pytest.raises(SourceError, match=r"cannot decode video file .*broken.avi"):
        RecordingReader(SourceConfig(uri=str(tmp_path / "broken.avi")))


def test_frames_are_decoded_on_demand_and_cached(tmp_path: Path) -> None:
    clip = write_numbered_clip(tmp_path / "clip.avi", frames=300)
    store = FrameStore(RecordingReader(SourceConfig(uri=str(clip))))
    assert store.decoded == 0  # nothing up front
    data = store.jpeg(1)
    assert data is not None
    assert jpeg_frame_number(data) == 1
    for frame in range(2, 6):  # stepping on: one frame decoded per step
        assert jpeg_frame_number(store.jpeg(frame) or b"") == frame
    assert store.decoded == 5
    jumped = store.jpeg(200)  # a jump: the frames just before it come along for stepping back
    assert jpeg_frame_number(jumped or b"") == 200
    decoded = store.decoded
    assert decoded == 5 + BACKFILL_FRAMES + 1
    for frame in range(199, 199 - BACKFILL_FRAMES, -1):
        assert jpeg_frame_number(store.jpeg(frame) or b"") == frame
    assert store.decoded == decoded  # all from the cache
    assert store.jpeg(0) is None
    assert store.jpeg(301) is None
    store.close()


def test_the_cache_is_bounded(tmp_path: Path) -> None:
    clip = write_numbered_clip(tmp_path / "clip.avi", frames=60)
    store = FrameStore(RecordingReader(SourceConfig(uri=str(clip))), cache_bytes=50_000)
    for frame in range(1, 61):
        store.jpeg(frame)
    kept = store._cache
    assert sum(len(data) for data in kept.values()) <= 50_000
    assert 60 in kept
    assert 1 not in kept
    assert jpeg_frame_number(store.jpeg(1) or b"") == 1  # decoded again
    store.close()


# -- the HTTP API


class Api:
    def __init__(self, url: str) -> None:
        self.url = url

    def call(
        self,
        method: str,
        path: str,
        body: object = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if body is not None:
            request.add_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, raw, kind = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, raw, kind = error.code, error.read(), error.headers
        if kind.get("Content-Type") == "application/json":
            return status, json.loads(raw)
        return status, raw


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Api, LabelServer]]:
    clip = write_numbered_clip(tmp_path / "clip.avi", frames=30)
    reader = RecordingReader(SourceConfig(uri=str(clip)))
    lines = [
        LineConfig.model_validate(
            {"id": "door", "points": [[160, 0], [160, 240]], "inside": [40, 120]}
        )
    ]
    session = LabelSession(tmp_path / "tally.csv", ["door"], reader.frames_per_second, 30)
    server = LabelServer(open_app(session, reader, lines, "clip.avi", "127.0.0.1"))
    server.start()
    yield Api(server.url.rstrip("/")), server
    server.close()


def test_api_records_undoes_and_deletes(served: tuple[Api, LabelServer], tmp_path: Path) -> None:
    api, _ = served
    status, session = api.call("GET", "/session")
    assert status == 200
    assert session["frame_count"] == 30
    assert session["frames_per_second"] == 10.0
    assert (session["width"], session["height"]) == (320, 240)
    assert session["lines"][0]["arrow"] == [[160.0, 120.0], [100.0, 120.0]]  # to the inside
    status, answer = api.call("POST", "/crossings", {"frame": 6, "line": "door", "direction": "in"})
    assert status == 201
    assert answer["crossing"]["time_seconds"] == 0.5
    api.call("POST", "/crossings", {"frame": 9, "line": "door", "direction": "out"})
    status, answer = api.call("POST", "/undo", {})
    assert (status, answer["crossing"]["frame"]) == (200, 9)
    status, answer = api.call("DELETE", f"/crossings/{answer['crossings'][0]['id']}", {})
    assert (status, answer["crossings"]) == (200, [])
    assert api.call("DELETE", "/crossings/99", {})[0] == 404
    status, answer = api.call("POST", "/crossings", {"frame": 6, "line": "back", "direction": "in"})
    assert (status, answer["error"]) == (400, "unknown line 'back' (the lines: door)")
    status, answer = api.call("POST", "/crossings", {"frame": "6", "line": "door"})
    assert status == 400
    assert rows(tmp_path / "tally.csv") == [HEADER]


def test_api_frames_and_out_of_range(served: tuple[Api, LabelServer]) -> None:
    api, _ = served
    status, data = api.call("GET", "/frame/9.jpg?v=anything")
    assert status == 200
    assert jpeg_frame_number(data) == 9
    for path in ("/frame/31.jpg", "/frame/0.jpg", "/frame/-1.jpg", "/frame/x.jpg", "/nothing"):
        assert api.call("GET", path)[0] == 404, path
    status, answer = api.call("GET", "/frame/31.jpg")
    assert answer["error"] == "no frame 31: the clip has frames 1 to 30"
    assert jpeg_frame_number(api.call("GET", "/frame/30.jpg")[1]) == 30  # still serving


def test_api_refuses_other_sites(served: tuple[Api, LabelServer]) -> None:
    api, _ = served
    assert api.call("GET", "/session", headers={"Host": "rebound.example"})[0] == 403
    crossing = {"frame": 6, "line": "door", "direction": "in"}
    foreign = {"Origin": "http://evil.example"}
    assert api.call("POST", "/crossings", crossing, headers=foreign)[0] == 403
    request = urllib.request.Request(api.url + "/crossings", data=b"frame=6", method="POST")
    request.add_header("Content-Type", "text/plain")  # what a form on another site can send
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 415
    assert api.call("GET", "/session")[1]["crossings"] == []


def test_the_page_is_self_contained(served: tuple[Api, LabelServer]) -> None:
    api, _ = served
    with urllib.request.urlopen(api.url + "/", timeout=10) as response:
        page = response.read().decode()
        policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "connect-src 'self'" in policy
    assert "<script src" not in page
    assert "<link" not in page
    assert "@import" not in page
    outside = [word for word in page.split('"') if word.startswith(("http://", "https://", "//"))]
    assert outside == ["http://www.w3.org/2000/svg", "http://www.w3.org/2000/svg"]  # names


# -- the command


def test_the_command_names_a_bad_clip(tmp_path: Path) -> None:
    output = str(tmp_path / "tally.csv")
    result = CliRunner().invoke(
        app, ["edge", "label", str(tmp_path / "missing.avi"), "--line", DOOR, "--output", output]
    )
    assert result.exit_code == 2
    assert "missing.avi' is neither a file nor a folder" in result.output
    assert not Path(output).exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "no lines to label: give --line NAME=x1,y1,x2,y2@ix,iy"),
        (["--line", "door=1,2"], "--line 'door=1,2': expected NAME=x1,y1,x2,y2@ix,iy"),
        (["--line", DOOR, "--output", "nowhere/tally.csv"], "no folder nowhere"),
    ],
)
def test_the_command_refuses_before_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arguments: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    clip = write_numbered_clip(tmp_path / "clip.avi", frames=5)
    words = ["edge", "label", str(clip), "--output", "tally.csv", *arguments]
    result = CliRunner().invoke(app, words)
    assert result.exit_code == 2
    assert message in result.output


def test_the_command_refuses_a_tally_of_other_lines(tmp_path: Path) -> None:
    clip = write_numbered_clip(tmp_path / "clip.avi", frames=5)
    tally = tmp_path / "tally.csv"
    tally.write_text(f"{HEADER}\n0.1,back,in\n")
    words = ["edge", "label", str(clip), "--line", DOOR, "--output", str(tally), "--port", "0"]
    result = CliRunner().invoke(app, words)
    assert result.exit_code == 2
    assert "tally.csv:2: unknown line 'back' (the camera's lines: door)" in result.output
    assert tally.read_text() == f"{HEADER}\n0.1,back,in\n"


def test_the_rate_is_the_audits(tmp_path: Path) -> None:
    """The same config, and so the same frame rate, as the audit: ``source.fps`` of the
    camera (or ``--fps``) wins over the container's."""
    clip = write_numbered_clip(tmp_path / "clip.avi", frames=5, fps=10)
    config = tmp_path / "edge.yaml"
    config.write_text(
        "store_id: s\ncameras:\n  - id: entrance\n    source: {uri: x.avi, fps: 7}\n"
        "    lines: [{id: door, points: [[160, 0], [160, 240]], inside: [40, 120]}]\n"
    )
    edge_config, camera_id = build_config(str(clip), config, [], "entrance")
    assert RecordingReader(edge_config.camera(camera_id).source).frames_per_second == 7.0
    edge_config, camera_id = build_config(str(clip), None, [DOOR], None, fps=12.5)
    assert RecordingReader(edge_config.camera(camera_id).source).frames_per_second == 12.5


def test_the_command_names_a_taken_port(tmp_path: Path) -> None:
    clip = write_numbered_clip(tmp_path / "clip.avi", frames=5)
    output = tmp_path / "tally.csv"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        words = ["edge", "label", str(clip), "--line", DOOR, "--output", str(output)]
        result = CliRunner().invoke(app, [*words, "--port", str(port)])
    assert result.exit_code == 2
    assert f"cannot serve on 127.0.0.1:{port}: Address already in use" in result.output
    assert not output.exists()  # refused before anything was written

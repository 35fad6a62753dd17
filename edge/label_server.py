"""The local web page of ``footfall edge label``: a person steps through a clip with its lines
drawn and records each crossing with a key press; every change is written to the tally file at
once (``edge.labelling``).

Standard library only (``http.server``): the edge stays light. The page is one file with its
script and style inline (``label_page.html``): it loads nothing from the internet, and its
Content-Security-Policy lets it talk only to this server. The server binds 127.0.0.1 unless
told otherwise, and on a loopback address answers only requests addressed to it by name
(``127.0.0.1``, ``localhost``, ``[::1]``), so another web site open in the same browser cannot
read the frames through DNS rebinding, nor record crossings (those need a JSON request from the
page's own origin). Frames come from ``edge.label_frames``: decoded on demand.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import secrets
import socket
import sys
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from edge.config import LineConfig
from edge.label_frames import FrameStore
from edge.labelling import LabelError, LabelSession
from edge.vision.recording_reader import RecordingReader
from edge.vision.sources import SourceError

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 10_000
FRAME_PATH = re.compile(r"^/frame/(\d{1,9})\.jpg$")
CROSSING_PATH = re.compile(r"^/crossings/(\d{1,9})$")
PAGE_POLICY = (
    "default-src 'none'; img-src 'self'; connect-src 'self'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def line_drawing(line: LineConfig) -> dict[str, Any]:
    """A line for the page: its end points, inside point and an arrow from its middle to the
    inside, as long as ``edge.vision.drawing`` draws it (source pixels)."""
    geometry = line.geometry()
    (x1, y1), (x2, y2) = line.points
    middle = ((x1 + x2) / 2, (y1 + y2) / 2)
    length = max(30.0, min(80.0, geometry.length / 4))
    normal = geometry.unit_normal
    tip = (middle[0] + normal[0] * length, middle[1] + normal[1] * length)
    return {
        "id": line.id,
        "points": [[x1, y1], [x2, y2]],
        "inside": list(line.inside),
        "arrow": [list(middle), list(tip)],
    }


@dataclass
class LabelApp:
    """What the handler serves: the session, the frames and what the page shows."""

    session: LabelSession
    frames: FrameStore
    clip: str
    lines: list[dict[str, Any]]
    width: int
    height: int
    loopback_only: bool
    token: str = ""

    def __post_init__(self) -> None:
        self.token = self.token or secrets.token_hex(4)

    def description(self) -> dict[str, Any]:
        return {
            "clip": self.clip,
            "output": str(self.session.path),
            "frames_per_second": self.session.frames_per_second,
            "frame_count": self.frames.frame_count,
            "width": self.width,
            "height": self.height,
            "lines": self.lines,
            "token": self.token,
            **self.session.to_json(),
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    app: LabelApp

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser that drops a frame it no longer wants (stepping on while it loads) is
        normal; anything else is logged with its traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            logger.debug("%s went away: %s", client_address, error)
        else:
            logger.exception("error answering %s", client_address)


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "footfall-label"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    # -- requests

    def do_GET(self) -> None:
        if not self._addressed_to_us():
            return
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            self._send(HTTPStatus.OK, "text/html; charset=utf-8", page_html(), page=True)
        elif path == "/session":
            self._send_json(HTTPStatus.OK, self.server.app.description())
        elif (match := FRAME_PATH.match(path)) is not None:
            self._send_frame(int(match[1]))
        elif path == "/favicon.ico":  # asked for by every browser: no icon, no error
            self._send(HTTPStatus.NO_CONTENT, "image/x-icon", b"")
        else:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no such page {path}"})

    def do_POST(self) -> None:
        if not self._addressed_to_us() or (body := self._json_body()) is None:
            return
        session = self.server.app.session
        path = self.path.split("?", 1)[0]
        try:
            if path == "/crossings":
                frame, line, direction = (body.get(key) for key in ("frame", "line", "direction"))
                if not isinstance(line, str) or not isinstance(direction, str):
                    raise LabelError("a crossing needs frame, line and direction")
                crossing = session.add(frame, line, direction)  # type: ignore[arg-type]
                self._send_change(HTTPStatus.CREATED, "recorded", crossing.to_json())
            elif path == "/undo":
                undone = session.undo()
                self._send_change(HTTPStatus.OK, "undone", undone and undone.to_json())
            else:
                self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no such action {path}"})
        except LabelError as error:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": str(error)})

    def do_DELETE(self) -> None:
        if not self._addressed_to_us() or self._json_body() is None:
            return
        match = CROSSING_PATH.match(self.path.split("?", 1)[0])
        if match is None:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no such crossing {self.path}"})
            return
        try:
            deleted = self.server.app.session.delete(int(match[1]))
        except LabelError as error:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": str(error)})
            return
        if deleted is None:
            self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no crossing {match[1]}"})
        else:
            self._send_change(HTTPStatus.OK, "deleted", deleted.to_json())

    # -- checks

    def _addressed_to_us(self) -> bool:
        """On a loopback address, only requests naming it (not a rebound DNS name); state
        changes only from the page's own origin."""
        host = self.headers.get("Host", "")
        if self.server.app.loopback_only and not _is_loopback_host(host):
            self._send_json(HTTPStatus.FORBIDDEN, {"error": f"unexpected Host {host!r}"})
            return False
        origin = self.headers.get("Origin")
        if self.command != "GET" and origin is not None and origin != f"http://{host}":
            self._send_json(HTTPStatus.FORBIDDEN, {"error": f"unexpected Origin {origin!r}"})
            return False
        return True

    def _json_body(self) -> dict[str, Any] | None:
        """The request's JSON object (``{}`` without a body); None after answering 4xx."""
        length_text = self.headers.get("Content-Length", "0")
        length = int(length_text) if length_text.isdigit() else -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": "bad Content-Length"})
            return None
        raw = self.rfile.read(length)
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE
            self._send_json(status, {"error": "send application/json"})
            return None
        try:
            body = json.loads(raw or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = None
        if not isinstance(body, dict):
            self._send_json(HTTPStatus.BAD_REQUEST, {"error": "the body must be a JSON object"})
            return None
        return body

    # -- responses

    def _send_frame(self, frame: int) -> None:
        frames = self.server.app.frames
        try:
            data = frames.jpeg(frame)
        except SourceError as error:
            logger.warning("frame %d: %s", frame, error)
            self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": str(error)})
            return
        if data is None:
            message = f"no frame {frame}: the clip has frames 1 to {frames.frame_count}"
            self._send_json(HTTPStatus.NOT_FOUND, {"error": message})
            return
        self._send(HTTPStatus.OK, "image/jpeg", data, cache=True)

    def _send_change(self, status: HTTPStatus, action: str, crossing: Any) -> None:
        app = self.server.app
        self._send_json(
            status,
            {
                "action": action,
                "crossing": crossing,
                "frame_count": app.frames.frame_count,
                **app.session.to_json(),
            },
        )

    def _send_json(self, status: HTTPStatus, document: dict[str, Any]) -> None:
        self._send(status, "application/json", json.dumps(document).encode())

    def _send(
        self,
        status: HTTPStatus,
        content_type: str,
        body: str | bytes,
        *,
        cache: bool = False,
        page: bool = False,
    ) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        if status >= 400:  # a request refused unread must not be taken for the next one
            self.close_connection = True
            self.send_header("Connection", "close")
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        # frames are fixed for a session (their URL carries its token); nothing else is
        self.send_header("Cache-Control", "private, max-age=3600" if cache else "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Content-Type-Options", "nosniff")
        if page:
            self.send_header("Content-Security-Policy", PAGE_POLICY)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


def _is_loopback_host(host_header: str) -> bool:
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def page_html() -> str:
    return resources.files("edge").joinpath("label_page.html").read_text(encoding="utf-8")


class LabelServer:
    """The page and its API for ``app`` on ``host``:``port`` (0: a free port)."""

    def __init__(self, app: LabelApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        server_class = _Server6 if ":" in host else _Server
        self._server = server_class((host, port), _Handler)
        self._server.app = app
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = str(self._server.server_address[0]), self._server.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        if shown in ("0.0.0.0", "[::]"):
            shown = "127.0.0.1"
        return f"http://{shown}:{port}/"

    def serve_forever(self) -> None:
        """Serve until :meth:`shutdown` (from another thread) or KeyboardInterrupt."""
        self._server.serve_forever(poll_interval=0.2)

    def start(self) -> None:
        """Serve from a background thread."""
        self._thread = threading.Thread(target=self.serve_forever, name="label-server")
        self._thread.daemon = True
        self._thread.start()

    def shutdown(self) -> None:
        self._server.shutdown()

    def close(self) -> None:
        """Stop serving (after :meth:`start`), release the port and the clip."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()
        self.app.frames.close()


def open_app(
    session: LabelSession, reader: RecordingReader, lines: list[LineConfig], clip: str, host: str
) -> LabelApp:
    """The app for ``reader``'s clip: its first frame is decoded now, so a clip that cannot be
    read fails here, before anything is served. Raises ``SourceError``."""
    frames = FrameStore(reader)
    first = next(iter(reader.read(0, 1)), None)
    if first is None:
        raise SourceError(f"cannot read the first frame of {clip}")
    height, width = first[1].shape[:2]
    return LabelApp(
        session=session,
        frames=frames,
        clip=clip,
        lines=[line_drawing(line) for line in lines],
        width=int(width),
        height=int(height),
        loopback_only=_is_loopback_host(host),
    )

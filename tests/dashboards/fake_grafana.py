"""A small stand-in for Grafana's HTTP API (folders, datasources, dashboards), only for the
``push`` tests: Grafana itself is not installable on this machine (no reachable package
source has it), so the requests ``footfall dashboards push`` makes are checked against this
server instead. It keeps objects by uid, answers 404/409/412/401 where Grafana does, and
records every request (method, path, Authorization header, JSON body).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Json = dict[str, Any]


@dataclass
class Recorded:
    method: str
    path: str
    authorization: str
    body: Json | None


@dataclass
class FakeGrafanaState:
    token: str
    folders: dict[str, Json] = field(default_factory=dict)
    datasources: dict[str, Json] = field(default_factory=dict)
    dashboards: dict[str, Json] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)

    def answer(self, method: str, path: str, body: Json | None) -> tuple[int, Json]:
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "folders"]:
            return self._folders(method, parts[2:], body)
        if parts[:2] == ["api", "datasources"]:
            return self._datasources(method, parts[2:], body)
        if parts[:2] == ["api", "dashboards"]:
            return self._dashboards(method, parts[2:], body)
        return 404, {"message": "Not found"}

    def _folders(self, method: str, rest: list[str], body: Json | None) -> tuple[int, Json]:
        if method == "GET" and len(rest) == 1:
            found = self.folders.get(rest[0])
            return (200, found) if found else (404, {"message": "folder not found"})
        if method == "POST" and not rest and body:
            if body.get("uid") in self.folders:
                return 409, {"message": "a folder with the same uid already exists"}
            folder = {"id": len(self.folders) + 1, "uid": body["uid"], "title": body["title"]}
            self.folders[body["uid"]] = {**folder, "version": 1}
            return 200, self.folders[body["uid"]]
        if method == "PUT" and len(rest) == 1 and body and rest[0] in self.folders:
            folder = self.folders[rest[0]]
            folder.update(title=body["title"], version=folder["version"] + 1)
            return 200, folder
        return 400, {"message": f"unexpected folder request {method} {rest}"}

    def _datasources(self, method: str, rest: list[str], body: Json | None) -> tuple[int, Json]:
        if method == "GET" and rest[:1] == ["uid"] and len(rest) == 2:
            found = self.datasources.get(rest[1])
            return (200, found) if found else (404, {"message": "Data source not found"})
        if method == "POST" and not rest and body:
            names = {source["name"] for source in self.datasources.values()}
            if body["uid"] in self.datasources or body["name"] in names:
                return 409, {"message": "data source with the same name already exists"}
            self.datasources[body["uid"]] = {**body, "id": len(self.datasources) + 1}
            return 200, {"message": "Datasource added", "datasource": body}
        if method == "PUT" and rest[:1] == ["uid"] and len(rest) == 2 and body:
            if rest[1] not in self.datasources:
                return 404, {"message": "Data source not found"}
            self.datasources[rest[1]] = {**body, "id": self.datasources[rest[1]]["id"]}
            return 200, {"message": "Datasource updated"}
        return 400, {"message": f"unexpected datasource request {method} {rest}"}

    def _dashboards(self, method: str, rest: list[str], body: Json | None) -> tuple[int, Json]:
        if method == "GET" and rest[:1] == ["uid"] and len(rest) == 2:
            found = self.dashboards.get(rest[1])
            return (200, found) if found else (404, {"message": "Dashboard not found"})
        if method == "POST" and rest == ["db"] and body:
            dashboard, folder = body["dashboard"], body.get("folderUid")
            if dashboard.get("id") is not None:
                return 404, {"message": "Dashboard not found"}
            if folder not in self.folders:
                return 400, {"message": "folder not found"}
            existing = self.dashboards.get(dashboard["uid"])
            if existing and not body.get("overwrite"):
                return 412, {"message": "version-mismatch"}
            version = existing["meta"]["version"] + 1 if existing else 1
            self.dashboards[dashboard["uid"]] = {
                "dashboard": dashboard,
                "meta": {"folderUid": folder, "version": version},
            }
            return 200, {"status": "success", "uid": dashboard["uid"], "version": version}
        return 400, {"message": f"unexpected dashboard request {method} {rest}"}


class _Handler(BaseHTTPRequestHandler):
    state: FakeGrafanaState

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        authorization = self.headers.get("Authorization", "")
        self.state.requests.append(Recorded(self.command, self.path, authorization, body))
        if authorization != f"Bearer {self.state.token}":
            status, answer = 401, {"message": "Unauthorized"}
        else:
            status, answer = self.state.answer(self.command, self.path, body)
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _handle  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads ``state.requests`` instead."""


class FakeGrafana:
    """The fake server on a free loopback port, in a background thread."""

    def __init__(self, token: str) -> None:
        self.state = FakeGrafanaState(token)
        handler = type("Handler", (_Handler,), {"state": self.state})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

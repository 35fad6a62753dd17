"""A small client for InfluxDB's v1 HTTP API: ``POST /write`` (line protocol) and ``/query``
(InfluxQL).

The same API is served by InfluxDB 1.x, by 2.x through its v1 compatibility endpoints (token
auth, database/retention-policy mapping) and by 3.x. Only this API is used so that one client
works against all three.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from aggregator.storage.line_protocol import Point, encode_points


class InfluxSettings(BaseModel):
    """Connection to InfluxDB. For 2.x use ``token`` (and a DBRP mapping for ``database``);
    for 1.x with auth use ``username``/``password``; for 3.x use ``token`` and the database
    name as ``database``."""

    model_config = ConfigDict(extra="forbid")

    url: str = "http://127.0.0.1:8086"
    database: str = "footfall"
    retention_policy: str | None = None
    """Retention policy to write to; None writes to the database default."""
    retention_duration: str = "INF"
    """Duration for the retention policy created on first start (InfluxQL, e.g. ``400d``)."""
    create_database: bool = True
    """Create the database and retention policy on start (1.x only; off for 2.x / 3.x)."""
    token: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    timeout_seconds: float = Field(default=10.0, gt=0)
    verify_tls: bool = True


class InfluxError(RuntimeError):
    """InfluxDB refused a request or could not be reached."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class Series:
    """One series of an InfluxQL result: name, tags of the group and rows as dicts."""

    name: str
    tags: dict[str, str]
    columns: list[str]
    values: list[list[Any]]

    def rows(self) -> Iterator[dict[str, Any]]:
        for row in self.values:
            yield dict(zip(self.columns, row, strict=True))


def quote_identifier(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def parse_time(value: str) -> datetime:
    """RFC 3339 times as InfluxDB returns them (nanosecond precision is truncated to µs)."""
    text = value.rstrip("Z")
    if "." in text:
        head, fraction = text.split(".", 1)
        text = f"{head}.{fraction[:6]}"
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class InfluxClient:
    def __init__(self, settings: InfluxSettings) -> None:
        self.settings = settings
        headers = {}
        auth: tuple[str, str] | None = None
        if settings.token is not None:
            headers["Authorization"] = f"Token {settings.token.get_secret_value()}"
        elif settings.username is not None:
            password = settings.password.get_secret_value() if settings.password else ""
            auth = (settings.username, password)
        self._http = httpx.Client(
            base_url=settings.url.rstrip("/"),
            headers=headers,
            auth=auth,
            timeout=settings.timeout_seconds,
            verify=settings.verify_tls,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> InfluxClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise InfluxError(
                f"InfluxDB at {self.settings.url} unreachable: {error}", retryable=True
            ) from error
        if response.status_code >= 300:
            retryable = response.status_code >= 500 or response.status_code == 429
            raise InfluxError(
                f"InfluxDB {path} answered {response.status_code}: {response.text[:500]}",
                retryable=retryable,
            )
        return response

    def ping(self) -> bool:
        try:
            return self._http.get("/ping").status_code == 204
        except httpx.HTTPError:
            return False

    def write(self, points: Sequence[Point]) -> None:
        if points:
            self.write_body(encode_points(list(points)))

    def write_body(self, body: bytes) -> None:
        """Write already-encoded line protocol (newline-separated, ns precision)."""
        params = {"db": self.settings.database, "precision": "ns"}
        if self.settings.retention_policy:
            params["rp"] = self.settings.retention_policy
        self._request("POST", "/write", params=params, content=body)

    def execute(self, statement: str) -> None:
        """Run a statement that changes state (CREATE, DROP, DELETE)."""
        self._raise_statement_errors(
            self._request("POST", "/query", params={"q": statement}).json(), statement
        )

    def query(self, statement: str, database: str | None = None) -> list[Series]:
        params = {"q": statement, "db": database or self.settings.database}
        if self.settings.retention_policy:
            params["rp"] = self.settings.retention_policy
        payload = self._request("GET", "/query", params=params).json()
        self._raise_statement_errors(payload, statement)
        found: list[Series] = []
        for result in payload.get("results", []):
            for series in result.get("series", []):
                found.append(
                    Series(
                        name=series.get("name", ""),
                        tags=series.get("tags", {}) or {},
                        columns=series["columns"],
                        values=series["values"],
                    )
                )
        return found

    @staticmethod
    def _raise_statement_errors(payload: dict[str, Any], statement: str) -> None:
        if "error" in payload:
            raise InfluxError(f"{statement!r}: {payload['error']}", retryable=False)
        for result in payload.get("results", []):
            if "error" in result:
                raise InfluxError(f"{statement!r}: {result['error']}", retryable=False)

    def ensure_database(self) -> None:
        """Create the database and its retention policy (idempotent; 1.x only)."""
        if not self.settings.create_database:
            return
        database = quote_identifier(self.settings.database)
        self.execute(f"CREATE DATABASE {database}")
        if self.settings.retention_policy:
            policy = quote_identifier(self.settings.retention_policy)
            duration = self.settings.retention_duration
            try:
                self.execute(
                    f"CREATE RETENTION POLICY {policy} ON {database} DURATION {duration} "
                    "REPLICATION 1 DEFAULT"
                )
            except InfluxError as error:
                if "already exists" not in str(error):
                    raise
                self.execute(
                    f"ALTER RETENTION POLICY {policy} ON {database} DURATION {duration} DEFAULT"
                )

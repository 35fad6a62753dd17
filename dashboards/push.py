"""Provision Grafana over its HTTP API with grafana-client: the InfluxDB datasource, the
"Footfall" folder and the dashboards, each looked up by uid and created or updated, so a second
push changes nothing but versions and never duplicates.

The same objects can be provisioned from files instead (``dashboards/provisioning/``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from dashboards.panels import (
    DATASOURCE_NAME,
    DATASOURCE_UID,
    FOLDER_TITLE,
    FOLDER_UID,
    Json,
)

MINIMUM_INTERVAL = "1m"
"""Datasource ``timeInterval``: the lower bound of ``$__interval`` (counts are per minute)."""
NOT_FOUND = 404


class PushError(RuntimeError):
    """Grafana refused a request or could not be reached."""


class InfluxDatasource(BaseModel):
    """How Grafana reaches InfluxDB (InfluxQL over the v1 API). InfluxDB 1.x with auth:
    ``username``/``password``. 2.x: ``token`` and ``database`` mapped to a bucket by a DBRP
    mapping. 3.x: ``token`` and the database name."""

    model_config = ConfigDict(extra="forbid")

    url: str = "http://influxdb:8086"
    database: str = Field(default="footfall", min_length=1)
    token: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None

    @model_validator(mode="after")
    def _one_kind_of_auth(self) -> InfluxDatasource:
        if self.token is not None and self.username is not None:
            raise ValueError("give either a token (InfluxDB 2.x/3.x) or a username (1.x), not both")
        if self.password is not None and self.username is None:
            raise ValueError("a password needs a username")
        return self

    def grafana_json(self) -> Json:
        json_data: Json = {
            "version": "InfluxQL",
            "dbName": self.database,
            "httpMode": "GET",
            "timeInterval": MINIMUM_INTERVAL,
        }
        secure: dict[str, str] = {}
        body: Json = {
            "uid": DATASOURCE_UID,
            "name": DATASOURCE_NAME,
            "type": "influxdb",
            "access": "proxy",
            "url": self.url,
            "database": self.database,
            "basicAuth": False,
            "isDefault": False,
            "jsonData": json_data,
        }
        if self.token is not None:
            json_data["httpHeaderName1"] = "Authorization"
            secure["httpHeaderValue1"] = f"Token {self.token.get_secret_value()}"
        if self.username is not None:
            body["user"] = self.username
            if self.password is not None:
                secure["password"] = self.password.get_secret_value()
        if secure:
            body["secureJsonData"] = secure
        return body


@dataclass
class PushReport:
    """What a push did: ``created`` / ``updated`` / ``unchanged`` per object."""

    folder: str = ""
    datasource: str = ""
    dashboards: dict[str, str] = field(default_factory=dict)


def _status(error: Exception) -> int | None:
    status = getattr(error, "status_code", None)
    return status if isinstance(status, int) else None


class GrafanaProvisioner:
    """Pushes to one Grafana. ``api`` is a ``grafana_client.GrafanaApi``."""

    def __init__(self, api: Any) -> None:
        self.api = api

    def _get(self, call: Any, *arguments: Any) -> Json | None:
        """The object, or None when Grafana answers 404."""
        try:
            found: Json = call(*arguments)
        except Exception as error:
            if _status(error) == NOT_FOUND:
                return None
            raise PushError(f"Grafana: {error}") from error
        return found

    def _call(self, call: Any, *arguments: Any) -> Json:
        try:
            answer: Json = call(*arguments)
        except Exception as error:
            raise PushError(f"Grafana: {error}") from error
        return answer

    def ensure_folder(self) -> str:
        folders = self.api.folder
        existing = self._get(folders.get_folder, FOLDER_UID)
        if existing is None:
            self._call(folders.create_folder, FOLDER_TITLE, FOLDER_UID)
            return "created"
        if existing.get("title") == FOLDER_TITLE:
            return "unchanged"
        self._call(lambda: folders.update_folder(FOLDER_UID, title=FOLDER_TITLE, overwrite=True))
        return "updated"

    def ensure_datasource(self, datasource: InfluxDatasource) -> str:
        sources = self.api.datasource
        body = datasource.grafana_json()
        if self._get(sources.get_datasource_by_uid, DATASOURCE_UID) is None:
            self._call(sources.create_datasource, body)
            return "created"
        self._call(sources.update_datasource_by_uid, DATASOURCE_UID, body)
        return "updated"

    def push_dashboard(self, dashboard: Json) -> str:
        uid = dashboard["uid"]
        existed = self._get(self.api.dashboard.get_dashboard, uid) is not None
        payload = {
            "dashboard": {**dashboard, "id": None},
            "folderUid": FOLDER_UID,
            "overwrite": True,
            "message": "footfall dashboards push",
        }
        self._call(self.api.dashboard.update_dashboard, payload)
        return "updated" if existed else "created"

    def push(self, datasource: InfluxDatasource, dashboards: Mapping[str, Json]) -> PushReport:
        report = PushReport(folder=self.ensure_folder())
        report.datasource = self.ensure_datasource(datasource)
        for dashboard in dashboards.values():
            report.dashboards[dashboard["uid"]] = self.push_dashboard(dashboard)
        return report


def connect(url: str, token: str, timeout_seconds: float = 10.0) -> Any:
    """A grafana-client API for ``url`` authenticating with a service-account token."""
    from grafana_client.api import GrafanaApi

    return GrafanaApi.from_url(url, credential=token, timeout=timeout_seconds)

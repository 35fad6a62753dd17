"""Aggregator configuration: MQTT, InfluxDB, and the store/camera registry.

The registry says which cameras and lines are the entrances of which store, each store's
IANA time zone (for the daily occupancy reset and store-local dates) and its capacity.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from aggregator.alert_settings import AlertSettings
from aggregator.storage.influx import InfluxSettings
from protocol.messages import Identifier
from protocol.settings import ConfigError, MqttConnectionConfig, describe_errors
from protocol.topics import dead_letter_topic


def known_timezone(value: str) -> str:
    """``value`` when it names an IANA time zone (``Europe/London``), else ``ValueError``."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {value!r}") from None
    return value


def influx_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be InfluxDB's HTTP API address (``http(s)://host[:port]``)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError as error:
        return f"url {url!r} is not a URL: {error}"
    if parts.scheme not in ("http", "https"):
        return f"url {url!r} must start with http:// or https:// (e.g. http://{url})"
    if not parts.hostname:
        return f"url {url!r} names no host"
    return None


TimezoneName = Annotated[str, AfterValidator(known_timezone)]
"""An IANA time zone name, checked when a model is validated."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CameraEntrances(Section):
    id: Identifier
    entrance_lines: list[Identifier] | None = None
    """Lines of this camera that are store entrances; None: all of its lines."""


class StoreConfig(Section):
    id: Identifier
    name: str | None = None
    timezone: TimezoneName = "UTC"
    """IANA time zone, e.g. ``Europe/London``: business days and policy dates are local."""
    capacity: Annotated[int, Field(ge=1)] | None = None
    daily_reset_local_time: time = time(4, 0)
    """Store-local time at which the occupancy count starts again from zero (closed hours)."""
    cameras: list[CameraEntrances] = Field(default_factory=list)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def entrance_lines(self, camera_id: str) -> set[str] | None:
        """Entrance lines of a camera; None means every line of it is an entrance."""
        for camera in self.cameras:
            if camera.id == camera_id:
                return None if camera.entrance_lines is None else set(camera.entrance_lines)
        return None


class MqttSettings(MqttConnectionConfig):
    client_id: str = "footfall-aggregator"
    share_group: str = "footfall-aggregators"
    """MQTT 5 shared-subscription group: replicas in one group split the messages."""
    dead_letter_topic: str | None = dead_letter_topic()
    session_expiry_seconds: Annotated[int, Field(ge=60)] = 7 * 24 * 3600
    """How long the broker keeps a stopped aggregator's session and queues its messages."""
    replica_sync: bool = True
    """Replicas share applied entrance counts on ``{topic_root}/aggregator/line-counts`` so
    each one's live occupancy covers the messages the others received."""


class ApiSettings(Section):
    """The HTTP API and entrance display (``footfall aggregator api``). Read-only unless
    ``write_token`` (or ``write_token_file``) is set; writes then need it as a bearer token."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    write_token: SecretStr | None = None
    write_token_file: Path | None = None
    """File holding the write token (systemd credentials, Docker secrets)."""
    cors_origins: list[str] = Field(default_factory=list)
    """Origins allowed to call the API from a browser; empty (the default) turns CORS off."""
    mqtt: MqttSettings | None = None
    """The API's own broker login (it reads occupancy, health and status); None: the
    aggregator's ``mqtt`` section with client id ``footfall-api``."""
    camera_silence_seconds: Annotated[float, Field(ge=1, le=86_400)] = 90.0
    """An entrance camera that has sent neither health nor status for this long is
    *silent*: its store's occupancy says "counting paused" (the edge reports health every
    ``health.interval_seconds``, 30 s by default; a dead device's Last Will says offline at
    once)."""


class AggregatorConfig(Section):
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    influx: InfluxSettings = Field(default_factory=InfluxSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    stores: list[StoreConfig] = Field(default_factory=list)
    default_timezone: str = "UTC"
    spool_path: Path = Path("/var/lib/footfall/aggregator-spool")
    """Line protocol waits here while InfluxDB is down."""
    batch_points: Annotated[int, Field(ge=1)] = 5000
    batch_seconds: Annotated[float, Field(gt=0)] = 0.5
    clock_skew_tolerance_seconds: Annotated[float, Field(ge=0)] = 300.0
    """A count interval ending later than this after the aggregator's clock is refused
    (dead letter, reason ``future_interval``): the edge device's clock is wrong."""
    alerts: AlertSettings | None = None
    """Alerts published on MQTT and to a webhook (``aggregator.alerts``); None: none."""

    @field_validator("influx")
    @classmethod
    def _influx_url(cls, influx: InfluxSettings) -> InfluxSettings:
        problem = influx_url_problem(influx.url)
        if problem is not None:
            raise ValueError(problem)
        return influx

    def store(self, store_id: str) -> StoreConfig:
        for store in self.stores:
            if store.id == store_id:
                return store
        return StoreConfig(id=store_id, timezone=self.default_timezone)

    def unknown_stores_error(self, store_ids: list[str]) -> str | None:
        """Why ``store_ids`` cannot be used (naming the unknown ones and the known ones), or
        None. An empty registry checks nothing: without a ``stores`` section (ad-hoc use with
        ``--influx-url``) any store is accepted, in ``default_timezone`` unless told."""
        known = [store.id for store in self.stores]
        unknown = [store_id for store_id in store_ids if store_id not in known]
        if not known or not unknown:
            return None
        return f"unknown store(s) {', '.join(unknown)} (known stores: {', '.join(known)})"


def load_aggregator_config(path: Path) -> AggregatorConfig:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as error:
        raise ConfigError(f"cannot read config {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from None
    try:
        return AggregatorConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"{path} is invalid:\n{describe_errors(error)}") from None

"""The ``alerts`` section of the aggregator config (``aggregator.config.AggregatorConfig``);
beside ``config.py``, below every layer of the aggregator, like the rest of the config."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookSettings(_Section):
    """Where alert events are POSTed as JSON (``protocol.alerts.AlertEvent``)."""

    url: str
    secret: SecretStr | None = None
    """Sent in ``secret_header`` with every POST, so the receiver can tell the sender."""
    secret_file: Path | None = None
    """File holding the secret (systemd credentials, Docker secrets); instead of ``secret``."""
    secret_header: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]+$")] = "X-Footfall-Secret"
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 5.0
    retry_initial_seconds: Annotated[float, Field(gt=0, le=3600)] = 1.0
    """First wait after a failed POST; it doubles per failure up to ``retry_maximum_seconds``.
    An event is retried until the receiver answers 2xx (or the process stops)."""
    retry_maximum_seconds: Annotated[float, Field(gt=0, le=3600)] = 60.0

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url {url!r} must be http(s)://host[:port]/path")
        return url

    @model_validator(mode="after")
    def _one_secret(self) -> WebhookSettings:
        if self.secret is not None and self.secret_file is not None:
            raise ValueError("give secret or secret_file, not both")
        if self.retry_maximum_seconds < self.retry_initial_seconds:
            raise ValueError("retry_maximum_seconds is below retry_initial_seconds")
        return self

    def secret_value(self) -> str | None:
        """The secret, read from ``secret_file`` when given (trailing newline stripped)."""
        if self.secret_file is not None:
            return self.secret_file.read_text(encoding="utf-8").strip()
        return self.secret.get_secret_value() if self.secret is not None else None


class VisitsLowSettings(_Section):
    """A store-local hour's visits far below the same weekday and hour of previous weeks:
    fires when visits < median − ``mad_multiplier`` × max(1.4826 × MAD, √median) of those
    weeks (docs/aggregator.md, "Alerts")."""

    enabled: bool = True
    history_weeks: Annotated[int, Field(ge=2, le=52)] = 4
    """How many previous weeks of the same weekday and hour make the usual."""
    minimum_history_weeks: Annotated[int, Field(ge=2, le=52)] = 3
    """Weeks with counts needed before the store is judged at all (a new store is not)."""
    mad_multiplier: Annotated[float, Field(gt=0, le=20)] = 3.0
    minimum_median_visits: Annotated[float, Field(ge=0)] = 20.0
    """Hours whose usual is below this are not judged: a quiet hour's 0 is not news."""
    check_delay_seconds: Annotated[float, Field(ge=0, le=3600)] = 180.0
    """How long after the end of an hour it is judged: counts arrive once a minute, late
    ones up to the edge's outbox retry later."""

    @model_validator(mode="after")
    def _enough_weeks(self) -> VisitsLowSettings:
        if self.minimum_history_weeks > self.history_weeks:
            raise ValueError("minimum_history_weeks is above history_weeks")
        return self


class AlertSettings(_Section):
    """Alerts of ``aggregator run``; without this section it raises none."""

    enabled: bool = True
    """False turns alerts off for this process (e.g. on all replicas but one: each replica
    that has them on publishes every alert)."""
    capacity_clear_margin: Annotated[int, Field(ge=0, le=10_000)] = 2
    """An over-capacity alert fires above capacity and clears only once occupancy is at most
    capacity − this margin, so a door busy at the limit does not fire over and over."""
    camera_silence_seconds: Annotated[float, Field(ge=1, le=86_400)] | None = None
    """An entrance camera silent for this long is offline; None: ``api.camera_silence_seconds``
    (the same figure that pauses the display)."""
    evaluate_seconds: Annotated[float, Field(gt=0, le=60)] = 1.0
    visits_low: VisitsLowSettings = Field(default_factory=VisitsLowSettings)
    webhook: WebhookSettings | None = None

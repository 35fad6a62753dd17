"""Alert events: what the aggregator publishes when a condition starts or stops holding.

Published retained on ``protocol.topics.alert_topic`` (one topic per alert: kind, store and,
for a camera alert, the camera), so a subscriber that arrives later reads each alert's latest
event, and the same JSON goes to the configured webhook. This module is imported by both
sides, so it depends on pydantic and the standard library only.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, model_validator

from protocol.messages import Identifier, WireModel

ALERT_SCHEMA_VERSION: Literal[1] = 1
"""Alert events are versioned on their own: a new count-interval schema does not change them."""
AlertKind = Literal["over_capacity", "camera_offline", "visits_low"]
ALERT_KINDS: tuple[AlertKind, ...] = ("over_capacity", "camera_offline", "visits_low")
AlertState = Literal["fired", "cleared"]
AlertValue = int | float | str | bool | None


class AlertEvent(WireModel):
    """One alert fired (its condition began to hold) or cleared (it stopped holding).

    ``values`` carries the figures that decided it, by name and with units in the name:
    ``occupancy``/``capacity``/``clear_at`` for ``over_capacity``; ``state``/``reason``/
    ``silence_seconds`` for ``camera_offline``; ``visits``/``median``/``threshold``/
    ``history_weeks``/``hour_start_utc`` for ``visits_low``.
    """

    schema_version: Literal[1] = ALERT_SCHEMA_VERSION
    kind: AlertKind
    state: AlertState
    store_id: Identifier
    camera_id: Identifier | None = None
    """The camera of a ``camera_offline`` alert; None for store alerts."""
    time_utc: AwareDatetime
    """When the aggregator saw the condition begin (fired) or end (cleared)."""
    fired_utc: AwareDatetime
    """When this alert fired (equal to ``time_utc`` on the fired event)."""
    message: Annotated[str, Field(max_length=1000)]
    """One line for a person: what happened, with the numbers."""
    values: dict[str, AlertValue] = Field(default_factory=dict, max_length=32)

    @model_validator(mode="after")
    def _camera_only_for_camera_alerts(self) -> AlertEvent:
        if (self.kind == "camera_offline") != (self.camera_id is not None):
            raise ValueError(f"camera_id is required for camera_offline alerts only ({self.kind})")
        if self.fired_utc > self.time_utc:
            raise ValueError("fired_utc is after time_utc")
        return self

"""What an aggregator replica says about itself, retained on
``{root}/aggregator/status/{client id}`` (``protocol.topics.aggregator_status_topic``).

The HTTP API reads it for ``/health`` and ``/metrics``, an operator login reads it with any
MQTT client: rejected messages by reason and entrance lines that no edge device has reported
would otherwise be visible only in the aggregator's log. Counts are since the replica started.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

NonNegative = Annotated[int, Field(ge=0)]


class DeadLetterSummary(BaseModel):
    """The latest refused message, without its payload (that is on the dead-letter topic)."""

    model_config = ConfigDict(extra="forbid")

    reason: str
    detail: str
    topic: str
    received_utc: AwareDatetime


class AggregatorStatus(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: str
    time_utc: AwareDatetime
    started_utc: AwareDatetime
    accepted: NonNegative
    duplicates: NonNegative
    rejected_by_reason: dict[str, NonNegative]
    """Refused messages per rejection reason since start (each one went to the dead letters)."""
    last_rejection: DeadLetterSummary | None = None
    entrance_lines_never_seen: list[str] = Field(default_factory=list)
    """``store/camera/line`` of the store registry's entrance lines that no count interval has
    reported (stored or received): a misspelt line id leaves occupancy at 0 otherwise."""
    software_version: str

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected_by_reason.values())

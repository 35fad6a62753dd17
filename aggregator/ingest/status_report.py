"""The aggregator's retained status (``protocol.aggregator_status``): what it refused, by
reason, and which registry entrance lines no edge has reported. Published by the occupancy
ticker when it changed (at most every :data:`STATUS_PUBLISH_SECONDS`), and at start and stop."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Final

from aggregator.ingest.validation import Rejection
from protocol.aggregator_status import AggregatorStatus, DeadLetterSummary
from protocol.version import SOFTWARE_VERSION

STATUS_PUBLISH_SECONDS: Final = 5.0


class LastRejection:
    """The latest rejection, kept for the status (written on the MQTT thread)."""

    def __init__(self) -> None:
        self._summary: DeadLetterSummary | None = None
        self._lock = threading.Lock()

    def note(self, topic: str, rejection: Rejection, received_utc: datetime) -> None:
        summary = DeadLetterSummary(
            reason=rejection.reason,
            detail=rejection.detail[:500],
            topic=topic[:500],
            received_utc=received_utc,
        )
        with self._lock:
            self._summary = summary

    @property
    def summary(self) -> DeadLetterSummary | None:
        with self._lock:
            return self._summary


def build_status(
    client_id: str,
    started_utc: datetime,
    *,
    accepted: int,
    duplicates: int,
    rejected_by_reason: dict[str, int],
    last_rejection: DeadLetterSummary | None,
    entrance_lines_never_seen: list[str],
) -> AggregatorStatus:
    return AggregatorStatus(
        client_id=client_id,
        time_utc=datetime.now(UTC).replace(microsecond=0),
        started_utc=started_utc,
        accepted=accepted,
        duplicates=duplicates,
        rejected_by_reason=rejected_by_reason,
        last_rejection=last_rejection,
        entrance_lines_never_seen=entrance_lines_never_seen,
        software_version=SOFTWARE_VERSION,
    )


def status_key(status: AggregatorStatus) -> tuple[object, ...]:
    """What must differ for a new status to be worth publishing (not the time)."""
    return (
        status.accepted,
        status.duplicates,
        tuple(sorted(status.rejected_by_reason.items())),
        status.last_rejection,
        tuple(status.entrance_lines_never_seen),
    )

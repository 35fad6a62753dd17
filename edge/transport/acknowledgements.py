"""What the broker's PUBACKs mean for one camera's outbox: which message id carried which
interval, which intervals were delivered and which refused, and how long to wait after a
refusal before sending again.

paho's network thread only ``record``s PUBACKs; the publisher's worker thread ``settle``s
them and applies the result to the outbox.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from paho.mqtt.reasoncodes import ReasonCode

MAXIMUM_REFUSAL_BACKOFF_SECONDS = 60.0
NO_MATCHING_SUBSCRIBERS = 0x10
"""PUBACK reason: the broker took the message but nobody was subscribed (e.g. Mosquitto 2.0
restarted and the aggregators have not re-made their shared subscriptions yet). The message
reached no one, so it stays in the outbox and is sent again after a back-off."""


def reached_a_subscriber(reason_code: ReasonCode) -> bool:
    """Whether a PUBACK confirms delivery: a success code other than 0x10."""
    return not reason_code.is_failure and reason_code.value != NO_MATCHING_SUBSCRIBERS


@dataclass(frozen=True)
class Settlement:
    """The PUBACKs read since the last settlement, by what the outbox must do."""

    acknowledged: list[int]
    """Sequences delivered: acknowledge them."""
    refused: list[tuple[int, ReasonCode]]
    """Sequences not delivered, with the broker's reason: release them and back off."""
    requeued: list[int]
    """Re-sent copies of acknowledged intervals among ``refused``: queue them again first."""


class PendingAcknowledgements:
    """Count messages handed to paho and not yet settled, by paho message id."""

    def __init__(self) -> None:
        self._arrived: deque[tuple[int, ReasonCode]] = deque()
        self._sequence_by_message_id: dict[int, int] = {}
        self._resent_sequence_by_message_id: dict[int, int] = {}
        """Re-sent copies of acknowledged intervals, until their PUBACK."""

    def published(self, message_id: int, sequence: int) -> None:
        self._sequence_by_message_id[message_id] = sequence

    def resent(self, message_id: int, sequence: int) -> None:
        self._resent_sequence_by_message_id[message_id] = sequence

    def record(self, message_id: int, reason_code: ReasonCode) -> None:
        """A PUBACK arrived (paho's thread); ``settle`` reads it."""
        self._arrived.append((message_id, reason_code))

    @property
    def in_flight(self) -> int:
        """Count messages published and not yet answered (re-sent copies not included)."""
        return len(self._sequence_by_message_id)

    @property
    def copies_waiting(self) -> bool:
        """Whether a re-sent copy still waits for its PUBACK (0x10 would requeue it)."""
        return bool(self._resent_sequence_by_message_id)

    def settle(self) -> Settlement:
        """The PUBACKs recorded so far; status, health and delivered re-sent copies need
        nothing done and are left out."""
        acknowledged: list[int] = []
        refused: list[tuple[int, ReasonCode]] = []
        requeued: list[int] = []
        while self._arrived:
            message_id, reason_code = self._arrived.popleft()
            delivered = reached_a_subscriber(reason_code)
            sequence = self._sequence_by_message_id.pop(message_id, None)
            if sequence is None:
                copy = self._resent_sequence_by_message_id.pop(message_id, None)
                if copy is not None and not delivered:
                    refused.append((copy, reason_code))
                    requeued.append(copy)
                continue
            if delivered:
                acknowledged.append(sequence)
            else:
                refused.append((sequence, reason_code))
        return Settlement(acknowledged, refused, requeued)


class RefusalBackoff:
    """The wait before sending again after the broker refused count messages, doubling up to
    ``maximum_seconds`` while refusals continue, back to ``minimum_seconds`` on a delivery.

    The refusals of one burst (up to ``max_inflight`` PUBACKs, read in several batches) start
    one back-off, not one per batch: doubling per batch made one burst after a broker restart
    wait 2 to 16 s instead of 1 s."""

    def __init__(
        self, minimum_seconds: float, maximum_seconds: float = MAXIMUM_REFUSAL_BACKOFF_SECONDS
    ) -> None:
        self._minimum_seconds = minimum_seconds
        self._maximum_seconds = maximum_seconds
        self._next_seconds = minimum_seconds
        self._until_monotonic = 0.0

    def waiting(self, now_monotonic: float) -> bool:
        return now_monotonic < self._until_monotonic

    def refused(self, now_monotonic: float) -> float:
        """Start a back-off unless one is running; returns the seconds left of it."""
        if now_monotonic >= self._until_monotonic:
            self._until_monotonic = now_monotonic + self._next_seconds
            self._next_seconds = min(2 * self._next_seconds, self._maximum_seconds)
        return self._until_monotonic - now_monotonic

    def reset(self) -> None:
        self._next_seconds = self._minimum_seconds

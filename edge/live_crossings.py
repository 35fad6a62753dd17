"""Live crossings: each counted crossing leaves the device the moment it is counted, so the
store's occupancy moves within seconds instead of once an interval.

Best effort by design: published at QoS 0 straight to the broker, never through the outbox,
and dropped while disconnected. The count interval stays the durable truth; the aggregator
replaces an interval's live crossings by the interval's totals when it arrives
(docs/transport.md). Only line, direction, time and the interval they belong to are sent:
no track id, no image.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from edge.counting.counters import Crossing, Direction
from protocol.messages import LiveCrossing

logger = logging.getLogger(__name__)


@runtime_checkable
class LiveSink(Protocol):
    """A sink that can publish live crossings (``MqttSink``); others simply have none."""

    def publish_live(self, crossing: LiveCrossing) -> None: ...


class LiveCrossings:
    """Numbers each camera's crossings within their interval (from 0, for the receiver's
    duplicate check) and hands them to the sink as :class:`LiveCrossing` messages."""

    def __init__(self, store_id: str, sink: object) -> None:
        self.store_id = store_id
        self._sink = sink if isinstance(sink, LiveSink) else None
        self._numbering: dict[str, tuple[datetime, int]] = {}
        """camera -> (interval start, next sequence)."""
        self.published = 0

    @property
    def enabled(self) -> bool:
        return self._sink is not None

    def publish(
        self,
        camera_id: str,
        timestamp_seconds: float,
        interval_utc: tuple[datetime, datetime] | None,
        crossings: Iterable[Crossing],
    ) -> list[LiveCrossing]:
        """Publish the crossings of one frame (``timestamp_seconds``: UTC seconds since the
        epoch) that went into the interval ``interval_utc`` (start, planned end)."""
        if self._sink is None or interval_utc is None:
            return []
        messages = []
        for crossing in crossings:
            try:  # best effort: never let the live path stop the counting
                message = self.message(camera_id, timestamp_seconds, interval_utc, crossing)
                self._sink.publish_live(message)
            except Exception:
                logger.exception("live crossing of camera %s not published", camera_id)
                continue
            messages.append(message)
        self.published += len(messages)
        return messages

    def message(
        self,
        camera_id: str,
        timestamp_seconds: float,
        interval_utc: tuple[datetime, datetime],
        crossing: Crossing,
    ) -> LiveCrossing:
        start, end = interval_utc
        numbered_start, sequence = self._numbering.get(camera_id, (start, 0))
        if numbered_start != start:
            sequence = 0
        self._numbering[camera_id] = (start, sequence + 1)
        # A frame time a hair before the interval's end can round up to it in microseconds.
        moment = datetime.fromtimestamp(timestamp_seconds, tz=UTC)
        moment = max(start, min(moment, end - timedelta(microseconds=1)))
        return LiveCrossing(
            store_id=self.store_id,
            camera_id=camera_id,
            line_id=crossing.line_id,
            direction="entry" if crossing.direction is Direction.ENTRY else "exit",
            time_utc=moment,
            interval_start_utc=start,
            interval_end_utc=end,
            sequence=sequence,
        )

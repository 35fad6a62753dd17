"""What the broker's PUBACKs mean for the outbox (issue 17, ``make mutation``): only a success
other than "no matching subscribers" acknowledges an interval; refusals are released in
arrival order, re-sent copies that reached nobody are queued again, PUBACKs of other messages
(status, health, delivered copies) change nothing; one burst of refusals starts one back-off,
doubling up to its maximum and back to its minimum after a delivery. Pure, no broker."""

from __future__ import annotations

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from edge.transport.acknowledgements import (
    PendingAcknowledgements,
    RefusalBackoff,
    Settlement,
    reached_a_subscriber,
)


def puback(code: int) -> ReasonCode:
    return ReasonCode(PacketTypes.PUBACK, identifier=code)


@pytest.mark.parametrize(
    ("code", "delivered"), [(0x00, True), (0x10, False), (0x80, False), (0x87, False)]
)
def test_only_a_success_that_reached_a_subscriber_is_a_delivery(code: int, delivered: bool) -> None:
    assert reached_a_subscriber(puback(code)) is delivered


def test_settling_sorts_the_pubacks_by_what_the_outbox_must_do() -> None:
    pending = PendingAcknowledgements()
    for message_id, sequence in [(1, 10), (2, 11), (3, 12), (4, 13)]:
        pending.published(message_id, sequence)
    pending.resent(5, 7)  # copies of acknowledged intervals 7 and 8
    pending.resent(6, 8)
    assert (pending.in_flight, pending.copies_waiting) == (4, True)
    for message_id, code in [(1, 0x00), (2, 0x10), (5, 0x10), (3, 0x87), (6, 0x00), (9, 0x00)]:
        pending.record(message_id, puback(code))
    settlement = pending.settle()
    assert settlement == Settlement(
        acknowledged=[10],
        refused=[(11, puback(0x10)), (7, puback(0x10)), (12, puback(0x87))],
        requeued=[7],
    )
    assert (pending.in_flight, pending.copies_waiting) == (1, False), "13 still in flight"
    assert pending.settle() == Settlement([], [], [])
    pending.record(4, puback(0x00))
    assert pending.settle() == Settlement([13], [], [])
    assert pending.in_flight == 0


def test_one_burst_of_refusals_starts_one_back_off_that_doubles_up_to_its_maximum() -> None:
    backoff = RefusalBackoff(minimum_seconds=1.0, maximum_seconds=4.0)
    assert not backoff.waiting(100.0)
    assert backoff.refused(100.0) == 1.0
    assert backoff.refused(100.5) == 0.5, "the same burst: the running back-off"
    assert backoff.waiting(100.99)
    assert not backoff.waiting(101.0)
    assert backoff.refused(101.0) == 2.0
    assert backoff.refused(103.0) == 4.0
    assert backoff.refused(107.0) == 4.0, "capped"
    backoff.reset()  # a delivery
    assert backoff.refused(111.0) == 1.0

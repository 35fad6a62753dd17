"""The webhook sender on a real local HTTP server: events wait while the receiver is down
and go out in order once it is up; a receiver that hangs does not hold up ``submit``."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from aggregator.alert_settings import WebhookSettings
from aggregator.alerts.webhook import WebhookSender
from footfall.local_services import free_port
from protocol.alerts import AlertEvent
from tests.aggregator.api.support import wait_until
from tests.integration.alert_support import WebhookReceiver


def event(number: int) -> AlertEvent:
    moment = datetime(2026, 3, 2, 10, number, tzinfo=UTC)
    return AlertEvent(
        kind="over_capacity",
        state="fired" if number % 2 == 0 else "cleared",
        store_id="shop-1",
        time_utc=moment,
        fired_utc=moment,
        message=f"event {number}",
        values={"occupancy": number},
    )


def test_events_wait_for_a_receiver_that_is_down() -> None:
    port = free_port()
    settings = WebhookSettings(
        url=f"http://127.0.0.1:{port}/hooks/footfall",
        secret="abc",
        secret_header="X-Hook-Token",
        retry_initial_seconds=0.05,
        retry_maximum_seconds=0.2,
    )
    sender = WebhookSender(settings)
    sender.start()
    try:
        started = time.monotonic()
        for number in range(3):
            sender.submit(event(number))
        assert time.monotonic() - started < 0.1, "submit waited for the network"
        wait_until(lambda: sender.stats.failed_attempts >= 3)  # connection refused, retried
        assert sender.pending == 3
        receiver = WebhookReceiver(port=port)
        try:
            wait_until(lambda: len(receiver.requests) == 3)
            assert [e.message for e in receiver.events()] == ["event 0", "event 1", "event 2"]
            assert {headers["X-Hook-Token"] for headers, _ in receiver.requests} == {"abc"}
            wait_until(lambda: sender.pending == 0)  # popped once the answer is read
        finally:
            receiver.close()
    finally:
        sender.stop(1)


def test_a_hanging_receiver_does_not_block_submit() -> None:
    receiver = WebhookReceiver(delay_seconds=2.0)
    settings = WebhookSettings(url=receiver.url, timeout_seconds=5)
    sender = WebhookSender(settings)
    sender.start()
    try:
        sender.submit(event(0))
        time.sleep(0.2)  # the first POST is now waiting on the receiver
        started = time.monotonic()
        sender.submit(event(1))
        assert time.monotonic() - started < 0.05
        wait_until(lambda: len(receiver.requests) == 2, timeout_seconds=10)
    finally:
        sender.stop(1)
        receiver.close()

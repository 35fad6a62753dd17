"""Issue 12, alerts, on real services: the aggregator (counts in, occupancy out) and its
alert monitor against a real Mosquitto and InfluxDB; a subscriber sees every alert event on
MQTT and a local HTTP server receives the same events from the webhook, with the secret
header. Each alert fires once and clears once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aggregator.alerts.monitor import AlertMonitor, start_alerts
from aggregator.config import AggregatorConfig
from aggregator.storage.influx import InfluxClient
from footfall.local_services import LocalService
from protocol.alerts import AlertEvent
from protocol.messages import CountInterval, LineCount
from protocol.topics import alert_topic, counts_topic
from tests.aggregator.api.support import Publisher, wait_until
from tests.integration.alert_support import AlertSubscriber, EdgeCamera, WebhookReceiver

pytestmark = pytest.mark.integration

SECRET = "s3cret-for-the-test"


@pytest.fixture
def topic_root() -> str:
    return f"alerts-{time.monotonic_ns()}/v1"


@pytest.fixture
def subscriber(mosquitto_server: LocalService, topic_root: str) -> Iterator[AlertSubscriber]:
    client = AlertSubscriber(mosquitto_server.port, topic_root)
    yield client
    client.close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver(failures=2)  # the first two POSTs fail: retried
    yield server
    server.close()


def alert_config(
    mosquitto_server: LocalService,
    topic_root: str,
    influx: InfluxClient,
    tmp_path: Path,
    receiver: WebhookReceiver,
    **alerts: Any,
) -> AggregatorConfig:
    secret_file = tmp_path / "webhook-secret"
    secret_file.write_text(SECRET + "\n")
    reset = (datetime.now(UTC) - timedelta(hours=12)).time().replace(second=0, microsecond=0)
    return AggregatorConfig.model_validate(
        {
            "mqtt": {"port": mosquitto_server.port, "topic_root": topic_root},
            "influx": influx.settings.model_dump(),
            "spool_path": tmp_path / "spool",
            "stores": [
                {
                    "id": "shop-1",
                    "capacity": 3,
                    "daily_reset_local_time": reset,
                    "cameras": [{"id": "entrance", "entrance_lines": ["door"]}],
                }
            ],
            "alerts": {
                "capacity_clear_margin": 1,
                "camera_silence_seconds": 3,
                "evaluate_seconds": 0.2,
                "webhook": {
                    "url": receiver.url,
                    "secret_file": str(secret_file),
                    "retry_initial_seconds": 0.2,
                    "retry_maximum_seconds": 0.5,
                },
                **alerts,
            },
        }
    )


def interval(minute: int, entries: int, exits: int) -> CountInterval:
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10 - minute)
    return CountInterval(
        store_id="shop-1",
        camera_id="entrance",
        sequence=minute,
        interval_start_utc=start,
        interval_end_utc=start + timedelta(minutes=1),
        frames=600,
        lines={"door": LineCount(entries=entries, exits=exits)},
        software_version="test",
        config_fingerprint="0123abcd",
    )


def summary(events: list[AlertEvent]) -> list[tuple[Any, ...]]:
    return [
        (e.kind, e.state, e.camera_id, e.values.get("occupancy", e.values.get("state")))
        for e in events
    ]


def wait_for_events(subscriber: AlertSubscriber, count: int) -> list[AlertEvent]:
    wait_until(lambda: len(subscriber.events()) >= count, timeout_seconds=15)
    return subscriber.events()


def test_capacity_and_camera_alerts_fire_and_clear(
    mosquitto_server: LocalService,
    topic_root: str,
    influx: InfluxClient,
    tmp_path: Path,
    subscriber: AlertSubscriber,
    receiver: WebhookReceiver,
) -> None:
    from aggregator.ingest.service import AggregatorService

    config = alert_config(
        mosquitto_server, topic_root, influx, tmp_path, receiver, visits_low={"enabled": False}
    )
    service = AggregatorService(config, client_id=f"alerts-test-{time.monotonic_ns()}")
    service.start()
    monitor = start_alerts(config, service.client_id)
    assert isinstance(monitor, AlertMonitor)
    publisher = Publisher(mosquitto_server.port, topic_root)
    edge = EdgeCamera(mosquitto_server.port, topic_root, "shop-1", "entrance")
    counts = counts_topic("shop-1", "entrance", topic_root)
    try:
        assert service.consumer.connected.wait(10)
        edge.health()
        # Over capacity (3) by counts through the aggregator; margin 1: clears at 2.
        publisher.publish(counts, interval(0, entries=4, exits=0).model_dump_json())
        assert summary(wait_for_events(subscriber, 1)) == [("over_capacity", "fired", None, 4)]
        edge.health()
        publisher.publish(counts, interval(1, entries=0, exits=1).model_dump_json())  # 3
        wait_until(lambda: getattr(monitor.occupancy("shop-1"), "occupancy", None) == 3)
        time.sleep(0.6)  # three checks at 3 inside: still firing, nothing published
        assert len(subscriber.events()) == 1
        publisher.publish(counts, interval(2, entries=0, exits=1).model_dump_json())  # 2
        events = wait_for_events(subscriber, 2)
        assert summary(events)[1] == ("over_capacity", "cleared", None, 2)
        assert events[1].fired_utc == events[0].time_utc

        # The edge dies: the broker publishes its Last Will (retained status offline).
        edge.cut()
        events = wait_for_events(subscriber, 3)
        assert summary(events)[2] == ("camera_offline", "fired", "entrance", "offline")
        assert events[2].message == "shop-1: entrance camera 'entrance' is offline"
        # It comes back and reports: cleared.
        edge = EdgeCamera(mosquitto_server.port, topic_root, "shop-1", "entrance")
        edge.health()
        assert summary(wait_for_events(subscriber, 4))[3] == (
            "camera_offline",
            "cleared",
            "entrance",
            "counting",
        )
        # Connected but silent for more than 3 s: fired as silent; a report clears it.
        silent_since = time.monotonic()
        events = wait_for_events(subscriber, 5)
        assert time.monotonic() - silent_since >= 2.5
        assert summary(events)[4] == ("camera_offline", "fired", "entrance", "silent")
        edge.health()
        events = wait_for_events(subscriber, 6)
        assert summary(events)[5] == ("camera_offline", "cleared", "entrance", "counting")
        time.sleep(1.0)
        assert len(subscriber.events()) == 6, "an alert was published twice"

        # Every event is retained on its own topic: the latest per alert.
        topics = [topic for topic, _ in subscriber.received]
        assert topics[0] == alert_topic("shop-1", "over_capacity", root=topic_root)
        assert topics[2] == alert_topic("shop-1", "camera_offline", "entrance", topic_root)
        # The webhook got the same six events, in order, with the secret, although its
        # first two answers were 503.
        wait_until(lambda: len(receiver.requests) == 6, timeout_seconds=10)
        assert receiver.answers[:3] == [503, 503, 200]
        assert receiver.events() == subscriber.events()
        assert {headers["X-Footfall-Secret"] for headers, _ in receiver.requests} == {SECRET}
        assert monitor.webhook is not None
        assert monitor.webhook.stats.failed_attempts == 2
    finally:
        monitor.stop()
        edge.close()
        publisher.close()
        service.stop()


class MovableClock:
    """The monitor's clock, moved by the test: the visits alert judges whole past hours."""

    def __init__(self, now_utc: datetime) -> None:
        self.now_utc = now_utc

    def __call__(self) -> datetime:
        return self.now_utc


def write_hourly_visits(influx: InfluxClient, visits_by_hour: dict[str, int]) -> None:
    """Visits of shop-1 as ``footfall import csv`` stores them (one point per hour)."""
    import pandas as pd

    from aggregator.storage.hourly_visits import encode_hourly_visits

    frame = pd.DataFrame(
        {
            "store": "shop-1",
            "time_utc": pd.to_datetime(list(visits_by_hour), utc=True),
            "visits": list(visits_by_hour.values()),
            "interval_seconds": 3600.0,
        }
    )
    for body in encode_hourly_visits(frame, "import", "visits", "test"):
        influx.write_body(body)


def test_visits_far_below_the_usual_fire_and_clear(
    mosquitto_server: LocalService,
    topic_root: str,
    influx: InfluxClient,
    tmp_path: Path,
    subscriber: AlertSubscriber,
) -> None:
    """Monday 23 November 10:00-11:00 UTC had 40 visits; the four Mondays before had 100,
    110, 90 and 120 at that hour: median 105, MAD 10, threshold 105 - 3 x 14.826 = 60.52, so
    it fires. 11:00-12:00 had 95 against 100 every week (threshold 100 - 3 x sqrt(100) = 70):
    it clears."""
    receiver = WebhookReceiver(failures=0)
    visits = {
        "2026-10-26T10:00Z": 120,
        "2026-11-02T10:00Z": 90,
        "2026-11-09T10:00Z": 110,
        "2026-11-16T10:00Z": 100,
        "2026-11-23T10:00Z": 40,
        "2026-11-16T09:00Z": 5,  # neighbouring hours are not the same hour
        "2026-11-23T11:00Z": 95,
        **{f"2026-{day}T11:00Z": 100 for day in ("10-26", "11-02", "11-09", "11-16")},
    }
    write_hourly_visits(influx, visits)
    clock = MovableClock(datetime(2026, 11, 23, 11, 2, tzinfo=UTC))  # 11:00 + 180 s not yet
    config = alert_config(mosquitto_server, topic_root, influx, tmp_path, receiver)
    assert config.alerts is not None
    monitor = AlertMonitor(
        config, config.alerts, client_id=f"visits-{time.monotonic_ns()}", clock=clock
    )
    monitor.start()
    try:
        time.sleep(1.5)  # judged 09:00-10:00: no history for it, neither fired nor cleared
        assert subscriber.events() == []
        clock.now_utc = datetime(2026, 11, 23, 11, 3, tzinfo=UTC)
        fired = wait_for_events(subscriber, 1)[0]
        assert (fired.kind, fired.state, fired.store_id) == ("visits_low", "fired", "shop-1")
        assert fired.values == {
            "visits": 40,
            "hour_start_utc": "2026-11-23T10:00:00+00:00",
            "history_weeks": 4,
            "median": 105.0,
            "spread": pytest.approx(14.826),
            "threshold": 60.52,
        }
        clock.now_utc = datetime(2026, 11, 23, 11, 40, tzinfo=UTC)
        time.sleep(0.6)
        assert len(subscriber.events()) == 1, "the same hour is judged once"
        clock.now_utc = datetime(2026, 11, 23, 12, 3, tzinfo=UTC)
        cleared = wait_for_events(subscriber, 2)[1]
        assert (cleared.state, cleared.values["visits"], cleared.values["threshold"]) == (
            "cleared",
            95,
            70.0,
        )
        assert cleared.fired_utc == fired.time_utc == datetime(2026, 11, 23, 11, 3, tzinfo=UTC)
        wait_until(lambda: len(receiver.requests) == 2)
        assert receiver.events() == subscriber.events()
    finally:
        monitor.stop()
        receiver.close()


def test_restart_resumes_firing_alerts(
    mosquitto_server: LocalService,
    topic_root: str,
    influx: InfluxClient,
    tmp_path: Path,
    subscriber: AlertSubscriber,
) -> None:
    """An aggregator restarted while an alert fires does not fire it again (it reads its
    retained event back) and still announces the clearing."""
    receiver = WebhookReceiver()
    config = alert_config(
        mosquitto_server, topic_root, influx, tmp_path, receiver, visits_low={"enabled": False}
    )
    assert config.alerts is not None
    publisher = Publisher(mosquitto_server.port, topic_root)
    try:
        publisher.occupancy("shop-1", 5, capacity=3)  # retained, as the aggregator publishes it
        first = AlertMonitor(config, config.alerts, client_id="alerts-first")
        first.start()
        assert summary(wait_for_events(subscriber, 1)) == [("over_capacity", "fired", None, 5)]
        first.stop()
        second = AlertMonitor(config, config.alerts, client_id="alerts-second")
        second.start()
        time.sleep(2.5)  # retained events read, then at least a second of checks
        assert len(subscriber.events()) == 1, "fired again after the restart"
        publisher.occupancy("shop-1", 1, capacity=3)
        events = wait_for_events(subscriber, 2)
        assert summary(events)[1] == ("over_capacity", "cleared", None, 1)
        assert events[1].fired_utc == events[0].time_utc
        second.stop()
    finally:
        publisher.close()
        receiver.close()


def test_aggregator_run_raises_alerts(
    mosquitto_server: LocalService,
    influx_server: LocalService,
    influx_database: str,
    topic_root: str,
    tmp_path: Path,
    subscriber: AlertSubscriber,
) -> None:
    """The command itself: ``footfall aggregator run`` with an ``alerts`` section turns
    counts over capacity into an alert on MQTT and at the webhook, and stops cleanly."""
    import yaml

    from tests.integration.aggregator_harness import AggregatorProcess

    receiver = WebhookReceiver()
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET)
    reset = (datetime.now(UTC) - timedelta(hours=12)).strftime("%H:%M")
    document = {
        "mqtt": {"port": mosquitto_server.port, "topic_root": topic_root},
        "influx": {"url": f"http://127.0.0.1:{influx_server.port}", "database": influx_database},
        "spool_path": str(tmp_path / "spool"),
        "stores": [{"id": "shop-1", "capacity": 3, "daily_reset_local_time": reset}],
        "alerts": {
            "visits_low": {"enabled": False},
            "webhook": {"url": receiver.url, "secret_file": str(secret_file)},
        },
    }
    config_path = tmp_path / "aggregator.yaml"
    config_path.write_text(yaml.safe_dump(document))
    aggregator = AggregatorProcess(config_path, "alerts-cli", tmp_path / "aggregator.log")
    publisher = Publisher(mosquitto_server.port, topic_root)
    try:
        aggregator.start_and_wait()
        # Two MQTT clients, the consumer and the alert monitor. Until the consumer has
        # subscribed a publication reaches no one, so the (idempotent) interval is repeated.
        counts = counts_topic("shop-1", "entrance", topic_root)
        message = interval(0, entries=5, exits=0).model_dump_json()
        deadline = time.monotonic() + 30
        while not subscriber.events() and time.monotonic() < deadline:
            publisher.publish(counts, message)
            time.sleep(0.5)
        fired = subscriber.events()
        assert fired, aggregator.log_tail()
        assert summary(fired) == [("over_capacity", "fired", None, 5)]
        wait_until(lambda: len(receiver.requests) == 1, timeout_seconds=10)
        assert receiver.requests[0][0]["X-Footfall-Secret"] == SECRET
        assert aggregator.stop() == 0, aggregator.log_tail()
        assert "alert fired: shop-1: 5 people inside, capacity 3" in aggregator.log_tail(20_000)
    finally:
        aggregator.kill()
        publisher.close()
        receiver.close()


def test_an_alert_raised_while_the_broker_is_down_is_published_when_it_is_back(
    influx: InfluxClient, tmp_path: Path, topic_root: str
) -> None:
    """Its own broker, stopped while the visits alert fires: the webhook gets the event at
    once, and the broker gets it (retained) once it is back; nothing is lost in between."""
    from footfall.local_services import mosquitto

    broker = mosquitto(tmp_path / "broker")
    broker.start()
    receiver = WebhookReceiver()
    monitor: AlertMonitor | None = None
    try:
        write_hourly_visits(
            influx,
            {
                **{f"2026-{day}T10:00Z": 100 for day in ("10-26", "11-02", "11-09", "11-16")},
                "2026-11-23T10:00Z": 10,
            },
        )
        clock = MovableClock(datetime(2026, 11, 23, 11, 2, tzinfo=UTC))
        config = alert_config(broker, topic_root, influx, tmp_path, receiver)
        assert config.alerts is not None
        monitor = AlertMonitor(config, config.alerts, client_id="alerts-outage", clock=clock)
        monitor.start()
        wait_until(lambda: monitor is not None and monitor.connection_state().connected)
        time.sleep(1.5)  # the first checks ran: nothing to say yet
        broker.stop()
        wait_until(lambda: monitor is not None and not monitor.connection_state().connected)
        clock.now_utc = datetime(2026, 11, 23, 11, 3, tzinfo=UTC)  # the hour is judged: low
        wait_until(lambda: len(receiver.requests) == 1)
        assert receiver.events()[0].values["visits"] == 10
        broker.start()
        subscriber = AlertSubscriber(broker.port, topic_root)
        try:
            event = wait_for_events(subscriber, 1)[0]
            assert (event.kind, event.state, event.values["visits"]) == ("visits_low", "fired", 10)
            assert event == receiver.events()[0]
        finally:
            subscriber.close()
    finally:
        if monitor is not None:
            monitor.stop()
        receiver.close()
        broker.stop()

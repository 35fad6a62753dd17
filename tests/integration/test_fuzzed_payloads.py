"""Reliability test 5: 10,000 hypothesis-generated bad payloads mixed into valid traffic.

The aggregator runs in-process here so that its rejection counter can be read. Every bad
payload must be rejected with the reason its kind implies (checked one by one through the
dead-letter topic), the counter must equal the number of bad payloads, every valid interval
must be stored exactly, and the aggregator must still take new messages afterwards.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion

from aggregator.config import AggregatorConfig
from aggregator.ingest.service import AggregatorService
from aggregator.storage.influx import InfluxClient
from footfall.local_services import LocalService
from protocol.messages import CountInterval
from tests.integration.aggregator_harness import totals_of, wait_for_totals

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

BAD_PAYLOADS = 10_000
VALID_EVERY = 10  # one valid interval after every ten bad payloads
STORE, CAMERA = "fuzz store", "door"
NOW = datetime.now(UTC).replace(microsecond=0)


def valid_document(sequence: int) -> dict[str, Any]:
    start = NOW - timedelta(hours=2) + timedelta(seconds=sequence)
    return {
        "schema_version": 1,
        "store_id": STORE,
        "camera_id": CAMERA,
        "sequence": sequence,
        "interval_start_utc": start.isoformat(),
        "interval_end_utc": (start + timedelta(seconds=1)).isoformat(),
        "frames": 10,
        "lines": {"entrance": {"entries": sequence % 7, "exits": sequence % 5}},
        "zones": {},
        "software_version": "fuzz",
        "config_fingerprint": "0123abcd",
    }


def encoded(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


# Each strategy yields (kind, payload); the kind says which rejection reasons are right.
TEMPLATE = valid_document(0)
not_numeric_text = st.text(min_size=1, max_size=12).filter(
    lambda text: not text.strip().lstrip("+-").replace(".", "", 1).replace("_", "").isdigit()
)
not_an_integer = (
    not_numeric_text
    | st.lists(st.integers(), max_size=3)
    | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
    | st.floats(allow_nan=False, allow_infinity=False).filter(lambda value: value != int(value))
)
not_a_string = st.integers() | st.lists(st.text(max_size=3), max_size=2) | st.booleans()
not_a_time = not_numeric_text | st.lists(st.integers(), max_size=2) | st.booleans()

wrong_types = st.one_of(
    st.tuples(st.sampled_from(["sequence", "frames"]), not_an_integer),
    st.tuples(st.sampled_from(["store_id", "camera_id", "software_version"]), not_a_string),
    st.tuples(st.sampled_from(["interval_start_utc", "interval_end_utc"]), not_a_time),
    st.tuples(st.just("lines"), not_a_string | st.lists(st.integers(), max_size=2)),
    st.tuples(
        st.just("lines"),
        not_an_integer.map(lambda value: {"entrance": {"entries": value, "exits": 0}}),
    ),
).map(lambda change: ("wrong_type", encoded({**TEMPLATE, change[0]: change[1]})))

huge_numbers = st.one_of(
    st.tuples(st.sampled_from(["entries", "exits"]), st.integers(1_000_001, 10**30)),
    st.tuples(st.just("frames"), st.integers(10_000_001, 10**30)),
    st.tuples(st.just("sequence"), st.integers(2**62 + 1, 10**40)),
    st.tuples(st.sampled_from(["entries", "frames"]), st.integers(100, 400).map(lambda n: 10**n)),
).map(lambda change: ("huge_number", _with_number(*change)))

negative_counts = st.tuples(
    st.sampled_from(["entries", "exits", "frames", "sequence"]), st.integers(-(10**12), -1)
).map(lambda change: ("negative", _with_number(*change)))

bad_utf8 = st.tuples(
    st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xc0\xaf", b"\xe2\x82", b"\x80"]),
    st.integers(0, len(encoded(TEMPLATE))),
).map(lambda change: ("bad_utf8", _inserted(encoded(TEMPLATE), *change)))

truncated = st.integers(0, len(encoded(TEMPLATE)) - 1).map(
    lambda length: ("truncated", encoded(TEMPLATE)[:length])
)

unknown_versions = (
    st.integers().filter(lambda version: version not in (1, 2))
    | st.text(max_size=5)
    | st.none()
    | st.floats(allow_nan=False).filter(lambda version: version not in (1, 2))
    | st.lists(st.integers(), max_size=2)
).map(lambda version: ("unknown_version", encoded({**TEMPLATE, "schema_version": version})))

bad_payloads = st.one_of(
    wrong_types, huge_numbers, negative_counts, bad_utf8, truncated, unknown_versions
)

EXPECTED_REASONS = {
    "wrong_type": {"invalid_fields"},
    "huge_number": {"invalid_fields", "bad_json"},  # > 4,300 digits: the JSON parser refuses
    "negative": {"invalid_fields"},
    "bad_utf8": {"bad_utf8"},
    "truncated": {"bad_json"},
    "unknown_version": {"unknown_schema_version"},
}


def _with_number(field: str, value: int) -> bytes:
    document = json.loads(json.dumps(TEMPLATE))
    if field in ("entries", "exits"):
        document["lines"]["entrance"][field] = value
    else:
        document[field] = value
    return encoded(document)


def _inserted(payload: bytes, bad: bytes, position: int) -> bytes:
    return payload[:position] + bad + payload[position:]


def generate_bad_payloads(count: int) -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(bad_payloads)
    def collect(example: tuple[str, bytes]) -> None:
        found.append(example)

    while len(found) < count:
        collect()
    return found[:count]


class DeadLetters:
    def __init__(self, port: int, topic: str) -> None:
        self.documents: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self._client.on_message = self._on_message
        self._client.connect("127.0.0.1", port)
        self._client.subscribe(topic, qos=1)
        self._client.loop_start()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.documents.append(json.loads(message.payload))

    def wait_for(self, count: int, timeout_seconds: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_seconds
        while len(self.documents) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        with self._lock:
            return list(self.documents)

    def stop(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


@pytest.fixture
def service(
    tmp_path: Path,
    mosquitto_server: LocalService,
    influx_server: LocalService,
    influx: InfluxClient,
) -> Iterator[AggregatorService]:
    unique = uuid.uuid4().hex[:8]
    root = f"fuzz-{unique}/v1"
    config = AggregatorConfig.model_validate(
        {
            "mqtt": {
                "port": mosquitto_server.port,
                "topic_root": root,
                "share_group": f"fuzz-{unique}",
                "client_id": f"fuzz-aggregator-{unique}",
                "dead_letter_topic": f"{root}/dead-letter",
            },
            "influx": {
                "url": f"http://127.0.0.1:{influx_server.port}",
                "database": influx.settings.database,
            },
            "spool_path": str(tmp_path / "spool"),
            "batch_seconds": 0.2,
        }
    )
    running = AggregatorService(config)
    running.start()
    assert running.consumer.connected.wait(10)
    time.sleep(0.3)
    yield running
    running.stop()


def test_ten_thousand_fuzzed_payloads_among_valid_traffic(
    service: AggregatorService, mosquitto_server: LocalService, influx: InfluxClient
) -> None:
    root = service.config.mqtt.topic_root
    topic = f"{root}/{STORE}/{CAMERA}/counts"
    bad = generate_bad_payloads(BAD_PAYLOADS)
    valid = [valid_document(sequence) for sequence in range(BAD_PAYLOADS // VALID_EVERY)]
    dead_letters = DeadLetters(mosquitto_server.port, f"{root}/dead-letter")
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    publisher.max_inflight_messages_set(500)
    publisher.connect("127.0.0.1", mosquitto_server.port)
    publisher.loop_start()
    sent = []
    for index, (_, payload) in enumerate(bad):
        sent.append(publisher.publish(topic, payload, qos=1))
        if index % VALID_EVERY == VALID_EVERY - 1:
            sent.append(publisher.publish(topic, encoded(valid[index // VALID_EVERY]), qos=1))
    for info in sent:
        info.wait_for_publish(60)

    expected = totals_of([CountInterval.model_validate(document) for document in valid])
    assert wait_for_totals(influx, expected, 60) == expected
    letters = dead_letters.wait_for(len(bad), 60)
    dead_letters.stop()

    assert service.rejections.total == len(bad) == BAD_PAYLOADS
    assert service.stats.accepted == len(valid)
    kinds_by_payload: dict[bytes, set[str]] = {}
    for kind, payload in bad:
        kinds_by_payload.setdefault(payload, set()).add(kind)
    assert len(letters) == len(bad)
    wrong = [
        (letter["reason"], kinds_by_payload.get(base64.b64decode(letter["payload_base64"])))
        for letter in letters
        if not any(
            letter["reason"] in EXPECTED_REASONS[kind]
            for kind in kinds_by_payload.get(base64.b64decode(letter["payload_base64"]), set())
        )
    ]
    assert wrong == []
    assert set(Counter(kind for kind, _ in bad)) == set(EXPECTED_REASONS)

    # Still alive: a new valid interval is stored.
    late = CountInterval.model_validate(valid_document(BAD_PAYLOADS // VALID_EVERY))
    publisher.publish(topic, late.model_dump_json().encode(), qos=1).wait_for_publish(10)
    publisher.loop_stop()
    publisher.disconnect()
    everything = totals_of([*(CountInterval.model_validate(d) for d in valid), late])
    assert wait_for_totals(influx, everything, 30) == everything
    assert service.consumer.connected.is_set()

"""Issue 9, finding 8: a truncated recording is reported (frames decoded against the frames
its header announces) and fails the run when most of it is unreadable, keeping what was
counted; the payload limit is one number (``protocol.messages.MAX_PAYLOAD_BYTES``) that the
outbox's merging, the aggregator and the shipped broker configs all respect."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion
from typer.testing import CliRunner

from aggregator.config import AggregatorConfig
from aggregator.ingest.service import AggregatorService
from aggregator.storage.influx import InfluxClient
from edge.config import SourceConfig
from edge.transport import interval_merge
from edge.vision.sources import RecordedSource
from footfall.cli import app
from footfall.local_services import LocalService
from protocol.messages import MAX_PAYLOAD_BYTES, CountInterval, LineCount
from tests.integration.aggregator_harness import totals_of, wait_for_totals

pytestmark = pytest.mark.integration

CLIP_FRAMES = 795
DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto"


def truncated_copy(footage: Path, directory: Path, fraction: float) -> Path:
    """The first ``fraction`` of the clip's bytes: its header still says 795 frames."""
    data = (footage / "vtest.avi").read_bytes()
    copy = directory / f"vtest-{round(fraction * 100)}pc.avi"
    copy.write_bytes(data[: int(len(data) * fraction)])
    return copy


def edge_config(path: Path, video: Path, output: Path) -> Path:
    document = {
        "store_id": "shop-1",
        "cameras": [
            {
                "id": "door",
                "source": {"uri": str(video), "stride": 4, "fps": 7},
                "lines": [{"id": "door", "points": [[384, 150], [384, 576]], "inside": [100, 363]}],
            }
        ],
        "detector": {"imgsz": 640},
        "counting": {"interval_seconds": 1},
        "output_path": str(output),
    }
    path.write_text(yaml.safe_dump(document))
    return path


def test_a_mostly_unreadable_recording_fails_and_keeps_its_counts(
    footage: Path, tmp_path: Path
) -> None:
    video = truncated_copy(footage, tmp_path, 0.1)
    output = tmp_path / "intervals.jsonl"
    config = edge_config(tmp_path / "edge.yaml", video, output)
    result = CliRunner().invoke(app, ["edge", "run", "-c", str(config)])
    assert result.exit_code != 0
    text = " ".join(result.output.split())
    match = re.search(r"decoded (\d+) of the 795 frames its header announces \(([\d.]+)%\)", text)
    assert match, text
    assert 0 < int(match.group(1)) < CLIP_FRAMES / 2
    assert "truncated or damaged: most of it is unreadable" in text
    intervals = [CountInterval.model_validate_json(line) for line in output.read_text().split()]
    assert intervals, "the readable part was counted and written"
    assert sum(interval.frames for interval in intervals) == int(match.group(1)) // 4


def test_a_partly_damaged_recording_is_reported_and_counted(
    footage: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    video = truncated_copy(footage, tmp_path, 0.9)
    source = RecordedSource(SourceConfig(uri=str(video), stride=4))
    with caplog.at_level(logging.WARNING, logger="edge.vision.sources"):
        frames = sum(1 for _ in source)
    assert CLIP_FRAMES / 2 < source.frames_read < CLIP_FRAMES - 1
    assert frames == -(-source.frames_read // 4)
    (warning,) = [record.getMessage() for record in caplog.records]
    assert f"decoded {source.frames_read} of the 795 frames" in warning
    assert "counted what was readable" in warning


def test_the_whole_clip_reads_without_a_warning(
    footage: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = RecordedSource(SourceConfig(uri=str(footage / "vtest.avi"), stride=8))
    with caplog.at_level(logging.WARNING, logger="edge.vision.sources"):
        for _ in source:
            pass
    assert source.frames_read == CLIP_FRAMES
    assert caplog.records == []


def big_merged_interval(starts: int) -> CountInterval:
    """What a full outbox makes of ``starts`` one-second intervals after a long outage."""
    first = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=0)
    return CountInterval(
        store_id="shop-1",
        camera_id="door",
        sequence=1,
        interval_start_utc=first,
        interval_end_utc=first + timedelta(seconds=starts),
        frames=starts * 10,
        lines={"door": LineCount(entries=starts // 100, exits=starts // 200)},
        software_version="test",
        config_fingerprint="0123abcd",
        merged_starts_utc=[first + timedelta(seconds=index) for index in range(starts)],
    )


def test_the_outbox_never_merges_past_the_payload_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    earlier, later = big_merged_interval(60), big_merged_interval(120)
    later = later.model_copy(
        update={
            "interval_start_utc": earlier.interval_end_utc,
            "interval_end_utc": earlier.interval_end_utc + timedelta(seconds=60),
            "merged_starts_utc": [
                earlier.interval_end_utc + timedelta(seconds=index) for index in range(60)
            ],
        }
    )
    merged = interval_merge.merge_intervals(earlier, later, 7)
    assert merged is not None
    size = len(merged.model_dump_json())
    monkeypatch.setattr(interval_merge, "MAX_PAYLOAD_BYTES", size - 1)
    assert interval_merge.merge_intervals(earlier, later, 7) is None
    monkeypatch.setattr(interval_merge, "MAX_PAYLOAD_BYTES", size)
    assert interval_merge.merge_intervals(earlier, later, 7) == merged


def test_the_largest_merged_interval_fits_every_limit() -> None:
    largest = big_merged_interval(100_000)  # the schema's maximum of merged starts
    assert len(largest.model_dump_json()) < MAX_PAYLOAD_BYTES
    for config in (DEPLOY / "mosquitto.conf", DEPLOY / "footfall-debian.conf"):
        (packet,) = re.findall(r"^max_packet_size (\d+)$", config.read_text(), re.MULTILINE)
        assert int(packet) >= MAX_PAYLOAD_BYTES + 65_536, config  # topic, headers


@pytest.fixture
def service(
    tmp_path: Path,
    mosquitto_server: LocalService,
    influx_server: LocalService,
    influx: InfluxClient,
) -> Iterator[AggregatorService]:
    root = f"payload-{uuid.uuid4().hex[:8]}/v1"
    config = AggregatorConfig.model_validate(
        {
            "mqtt": {
                "port": mosquitto_server.port,
                "topic_root": root,
                "share_group": root.replace("/", "-"),
                "client_id": f"aggregator-{root[:16]}",
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


def test_a_merged_interval_over_the_old_1_mb_limit_is_stored(
    service: AggregatorService, mosquitto_server: LocalService, influx: InfluxClient
) -> None:
    merged = big_merged_interval(50_000)
    payload = merged.model_dump_json().encode()
    assert 1_000_000 < len(payload) < MAX_PAYLOAD_BYTES
    too_large = b"{" + b" " * MAX_PAYLOAD_BYTES + b"}"
    topic = f"{service.config.mqtt.topic_root}/shop-1/door/counts"
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", mosquitto_server.port)
    client.loop_start()
    for body in (payload, too_large):
        client.publish(topic, body, qos=1).wait_for_publish(30)
    client.loop_stop()
    client.disconnect()
    # Every merged start gets its point (zeros but the first), so totals are the interval's.
    expected = totals_of([merged])
    stored = wait_for_totals(influx, expected, 60)
    assert (stored.entries, stored.exits) == (expected.entries, expected.exits)
    deadline = time.monotonic() + 10
    while service.rejections.total < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert service.rejections.by_reason() == {"too_large": 1}

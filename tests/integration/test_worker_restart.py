"""Issue 9, finding 5: the edge worker restarted the way systemd restarts it.

``footfall edge run`` replays the PETS clip (fixed ``start_time_utc``, 5 s intervals) into a
real broker through its SQLite outbox; it is killed with SIGKILL once some intervals are out
(``Restart=always`` after a crash) and started again on the same outbox and config, so the
recording starts again from its first frame, whose time is behind the end of the last saved
interval. The second run must warn, skip what was already counted and finish with exit 0 —
no traceback — and the intervals of both runs, stored by a real aggregator in InfluxDB, must
never overlap and add up to what the edge sent.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from aggregator.config import AggregatorConfig
from aggregator.ingest.service import AggregatorService
from aggregator.storage.influx import InfluxClient
from footfall.local_services import LocalService
from tests.edge.mqtt_support import Collector
from tests.integration.aggregator_harness import (
    assert_occupancy_equals_stored_intervals,
    totals_of,
    wait_for_totals,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

FOOTFALL = Path(sys.executable).with_name("footfall")
STORE, CAMERA = "restart-shop", "door-cam"
INTERVAL_SECONDS = 5
FRAMES_PER_SECOND = 7.0
CLIP_FRAMES = 795
KILL_AFTER_INTERVALS = 6


@pytest.fixture
def topic_root() -> str:
    return f"restart-{uuid.uuid4().hex[:8]}/v1"


@pytest.fixture
def aggregator(
    tmp_path: Path,
    topic_root: str,
    mosquitto_server: LocalService,
    influx_server: LocalService,
    influx: InfluxClient,
) -> Iterator[AggregatorService]:
    config = AggregatorConfig.model_validate(
        {
            "mqtt": {
                "port": mosquitto_server.port,
                "topic_root": topic_root,
                "share_group": f"group-{topic_root[:16]}",
                "client_id": f"aggregator-{topic_root[:16]}",
            },
            "influx": {
                "url": f"http://127.0.0.1:{influx_server.port}",
                "database": influx.settings.database,
            },
            "spool_path": str(tmp_path / "spool"),
            "batch_seconds": 0.2,
        }
    )
    service = AggregatorService(config)
    service.start()
    assert service.consumer.connected.wait(10)
    yield service
    service.stop()


def write_edge_config(path: Path, video: Path, port: int, topic_root: str, outbox: Path) -> Path:
    start = (datetime.now(UTC) - timedelta(hours=2)).replace(second=0, microsecond=0)
    document = {
        "store_id": STORE,
        "cameras": [
            {
                "id": CAMERA,
                "source": {
                    "uri": str(video),
                    "fps": FRAMES_PER_SECOND,
                    "start_time_utc": start.isoformat(),
                },
                "lines": [{"id": "door", "points": [[384, 150], [384, 576]], "inside": [100, 363]}],
            }
        ],
        "detector": {"imgsz": 640},
        "counting": {"interval_seconds": INTERVAL_SECONDS},
        "mqtt": {"port": port, "topic_root": topic_root, "keepalive_seconds": 5},
        "outbox": {"path": str(outbox)},
        "health": {"interval_seconds": 5},
    }
    path.write_text(yaml.safe_dump(document))
    return path


def start_worker(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            [str(FOOTFALL), "edge", "run", "--config", str(config)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


def test_worker_killed_and_restarted_on_a_replayed_file_resumes_without_overlap(
    tmp_path: Path,
    footage: Path,
    topic_root: str,
    mosquitto_server: LocalService,
    aggregator: AggregatorService,
    influx: InfluxClient,
) -> None:
    config = write_edge_config(
        tmp_path / "edge.yaml",
        footage / "vtest.avi",
        mosquitto_server.port,
        topic_root,
        tmp_path / "outbox.sqlite3",
    )
    collector = Collector(mosquitto_server.port, f"{topic_root}/{STORE}/+/counts")
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"

    first = start_worker(config, first_log)
    arrived = collector.wait_until(
        lambda: len(collector.unique_counts()) >= KILL_AFTER_INTERVALS, 180
    )
    assert arrived, first_log.read_text()[-3000:]
    os.kill(first.pid, signal.SIGKILL)  # a crash: no flush of the open interval
    first.wait(10)
    before_restart = collector.unique_counts()

    second = start_worker(config, second_log)  # systemd: same config, same outbox
    assert second.wait(300) == 0, second_log.read_text()[-3000:]
    output = second_log.read_text()
    assert "Traceback" not in output
    assert "behind the end of its last saved interval" in output, output[-3000:]
    assert "counting resumed after" in output, output[-3000:]

    clip_end = min(message.interval_start_utc for message in before_restart.values()) + timedelta(
        seconds=CLIP_FRAMES / FRAMES_PER_SECOND
    )
    assert collector.wait_until(
        lambda: (
            max(m.interval_end_utc for m in collector.unique_counts().values())
            >= clip_end - timedelta(seconds=1)
        ),
        30,
    )
    intervals = sorted(collector.unique_counts().values(), key=lambda m: m.interval_start_utc)
    collector.close()
    # Both runs together: one interval after the other, neither overlapping nor leaving a
    # gap: the second run's first interval starts where the last saved one ended (the first
    # run's open interval died with it, its frames are counted again by the second run).
    for previous, following in itertools.pairwise(intervals):
        assert following.interval_start_utc == previous.interval_end_utc, (previous, following)
    assert any(m.sequence not in before_restart for m in intervals), "the second run sent nothing"
    assert sorted(m.sequence for m in intervals) == list(range(len(intervals)))
    assert sum(m.frames for m in intervals) <= CLIP_FRAMES

    # InfluxDB holds exactly those intervals: nothing overwritten, nothing doubled.
    expected = totals_of(intervals)
    assert expected.intervals == len(intervals)
    assert wait_for_totals(influx, expected, 30) == expected
    assert aggregator.rejections.total == 0
    # The killed run's open interval was published only live; the restart's interval at the
    # same start replaced those crossings: occupancy is the stored intervals', not both.
    assert assert_occupancy_equals_stored_intervals(aggregator, influx, STORE) == (
        expected.entries,
        expected.exits,
    )

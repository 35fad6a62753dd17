"""End-to-end aggregator throughput: publish N count messages through a real Mosquitto into 1
and then 2 aggregator processes (``footfall aggregator run``) writing to a real InfluxDB.

Prints, per configuration, messages/s from the first publish to the moment the last point is
queryable, and the p50/p99 latency from publish to queryable of every ``--probe-every``-th
message (each probe has its own camera id, polled every 20 ms). The last line is
``messages_per_second: N`` for one aggregator process.

The publisher is a minimal MQTT 5 client on a raw socket (pre-built QoS 1 PUBLISH packets,
PUBACKs counted by a reader thread), so that publishing costs little of the 2 CPU cores the
broker, InfluxDB and the aggregators share. Usage::

    python benchmarks/aggregator_throughput.py --messages 100000
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import yaml

from aggregator.storage.influx import InfluxClient, InfluxSettings
from footfall.local_services import LocalService, running_stack
from protocol.topics import counts_topic

FOOTFALL = Path(sys.executable).with_name("footfall")
CAMERAS_PER_STORE = 4


def _varint(value: int) -> bytes:
    encoded = bytearray()
    while True:
        value, digit = divmod(value, 128)
        encoded.append(digit | (0x80 if value else 0))
        if not value:
            return bytes(encoded)


def _utf8(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


def connect_packet(client_id: str) -> bytes:
    # Protocol name, level 5, clean start, keepalive 60 s, no properties; then the client id.
    body = _utf8("MQTT") + bytes([5, 0x02]) + struct.pack("!H", 60) + b"\x00" + _utf8(client_id)
    return b"\x10" + _varint(len(body)) + body


def publish_packet(topic: str, payload: bytes, packet_id: int) -> bytes:
    body = _utf8(topic) + struct.pack("!H", packet_id) + b"\x00" + payload
    return b"\x32" + _varint(len(body)) + body


class RawPublisher:
    """QoS 1 publisher with a window of unacknowledged messages."""

    def __init__(self, port: int, window: int = 10_000) -> None:
        self._socket = socket.create_connection(("127.0.0.1", port))
        self._socket.sendall(connect_packet("benchmark-publisher"))
        if self._socket.recv(1)[:1] != b"\x20":
            raise RuntimeError("broker did not answer CONNECT with CONNACK")
        self._read_packet_body()
        self.acknowledged = 0
        self._window = window
        self._condition = threading.Condition()
        threading.Thread(target=self._read_acks, daemon=True).start()

    def _read_exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self._socket.recv(size - len(data))
            if not chunk:
                raise ConnectionError("broker closed the connection")
            data += chunk
        return data

    def _read_packet_body(self) -> bytes:
        length, shift = 0, 0
        while True:
            digit = self._read_exactly(1)[0]
            length += (digit & 0x7F) << shift
            shift += 7
            if not digit & 0x80:
                return self._read_exactly(length)

    def _read_acks(self) -> None:
        while True:
            try:
                kind = self._read_exactly(1)[0]
                self._read_packet_body()
            except OSError:  # closed at the end of the run
                return
            if kind == 0x40:
                with self._condition:
                    self.acknowledged += 1
                    self._condition.notify_all()

    def send(
        self,
        packets: list[bytes],
        send_times: dict[int, float],
        probes: set[int],
        rate_per_second: float | None = None,
    ) -> None:
        """Send everything (as fast as the window allows, or at ``rate_per_second``)."""
        chunk = 500 if rate_per_second is None else 25
        started = time.monotonic()
        for first in range(0, len(packets), chunk):
            with self._condition:
                while first - self.acknowledged > self._window:
                    self._condition.wait(1)
            if rate_per_second is not None:
                time.sleep(max(0.0, started + first / rate_per_second - time.monotonic()))
            now = time.monotonic()
            for index in range(first, min(first + chunk, len(packets))):
                if index in probes:
                    send_times[index] = now
            self._socket.sendall(b"".join(packets[first : first + chunk]))

    def wait_acknowledged(self, count: int, timeout_seconds: float) -> None:
        with self._condition:
            self._condition.wait_for(lambda: self.acknowledged >= count, timeout_seconds)

    def close(self) -> None:
        self._socket.sendall(b"\xe0\x00")
        self._socket.close()


def build_packets(count: int, stores: int, probe_every: int) -> tuple[list[bytes], set[int]]:
    """Count messages over ``stores`` x 4 cameras, one interval each; every
    ``probe_every``-th one comes from its own probe camera so its arrival can be seen."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    packets, probes = [], set()
    for index in range(count):
        store = f"store-{index % stores}"
        is_probe = index % probe_every == 0 or index == count - 1
        camera = f"probe-{index}" if is_probe else f"camera-{index // stores % CAMERAS_PER_STORE}"
        interval_start = start + timedelta(seconds=index // (stores * CAMERAS_PER_STORE))
        document = {
            "schema_version": 1,
            "store_id": store,
            "camera_id": camera,
            "sequence": index,
            "interval_start_utc": interval_start.isoformat(),
            "interval_end_utc": (interval_start + timedelta(seconds=1)).isoformat(),
            "frames": 10,
            "lines": {"entrance": {"entries": index % 3, "exits": index % 2}},
            "software_version": "benchmark",
            "config_fingerprint": "0123abcd",
        }
        topic = counts_topic(store, camera)
        packets.append(publish_packet(topic, json.dumps(document).encode(), index % 65_535 + 1))
        if is_probe:
            probes.add(index)
    return packets, probes


class ProbeWatcher(threading.Thread):
    """Polls InfluxDB for the probe cameras and notes when each became queryable."""

    def __init__(self, client: InfluxClient, probes: set[int]) -> None:
        super().__init__(daemon=True)
        self._client = client
        self.seen: dict[int, float] = {}
        self._probes = probes
        self.done = threading.Event()

    def run(self) -> None:
        while len(self.seen) < len(self._probes):
            try:
                series = self._client.query(
                    "SELECT count(entries) FROM line_counts WHERE camera =~ /^probe-/ "
                    "GROUP BY camera"
                )
            except Exception:  # InfluxDB busy: try again
                series = []
            now = time.monotonic()
            for one in series:
                self.seen.setdefault(int(one.tags["camera"].removeprefix("probe-")), now)
            time.sleep(0.02)
        self.done.set()


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def run_queue_seconds(pid: int) -> float:
    """Time the process's threads were ready to run but waited for a CPU (Linux schedstat):
    on a shared 2-core machine, the CPU other work took from the aggregator."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1e9


@dataclass(frozen=True)
class Result:
    replicas: int
    messages: int
    seconds: float
    latencies_seconds: list[float]
    cpu_seconds: dict[str, float]
    """CPU time used during the run by: aggregators (summed), mosquitto, influxd."""
    waiting_for_cpu_seconds: float
    """Time the aggregators' threads were runnable but had no CPU."""

    @property
    def messages_per_second(self) -> float:
        return self.messages / self.seconds

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_seconds)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def start_aggregators(
    replicas: int, directory: Path, broker: LocalService, database: LocalService, name: str
) -> list[subprocess.Popen[bytes]]:
    config = {
        "mqtt": {"port": broker.port, "share_group": f"bench-{name}"},
        "influx": {"url": f"http://127.0.0.1:{database.port}", "database": name},
        "spool_path": str(directory / "spool"),
        "batch_points": 10_000,
        "batch_seconds": 0.5,
    }
    config_path = directory / f"{name}.yaml"
    config_path.write_text(yaml.safe_dump(config))
    processes, logs = [], []
    for replica in range(replicas):
        log = directory / f"{name}-{replica}.log"
        logs.append(log)
        with log.open("wb") as handle:
            processes.append(
                subprocess.Popen(
                    [str(FOOTFALL), "aggregator", "run", "--config", str(config_path),
                     "--client-id", f"{name}-{replica}", "--log-level", "WARNING"],
                    stdout=handle, stderr=subprocess.STDOUT,
                )
            )  # fmt: skip
    _wait_subscribed(broker, [f"{name}-{replica}" for replica in range(replicas)])
    return processes


def _wait_subscribed(broker: LocalService, client_ids: list[str]) -> None:
    """Wait until the broker log shows every aggregator connected, then for its SUBSCRIBE."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = broker.log_path.read_text(errors="replace")
        if all(f"as {client_id} (" in text for client_id in client_ids):
            time.sleep(1.0)
            return
        time.sleep(0.1)
    raise RuntimeError(f"aggregators {client_ids} did not connect")


@dataclass(frozen=True)
class Run:
    replicas: int
    count: int
    stores: int
    probe_every: int
    rate_per_second: float | None = None
    """None: publish as fast as the broker takes it (a backlog the aggregators drain)."""


def run_configuration(
    run: Run, directory: Path, broker: LocalService, database: LocalService
) -> Result:
    replicas, count = run.replicas, run.count
    name = f"bench_{replicas}_{int(time.time())}"
    client = InfluxClient(InfluxSettings(url=f"http://127.0.0.1:{database.port}", database=name))
    processes = start_aggregators(replicas, directory, broker, database, name)
    packets, probes = build_packets(count, run.stores, run.probe_every)
    watcher = ProbeWatcher(client, probes)
    send_times: dict[int, float] = {}
    publisher = RawPublisher(broker.port)
    watcher.start()
    pids = {
        "aggregators": [process.pid for process in processes],
        "mosquitto": [broker.process.pid] if broker.process else [],
        "influxd": [database.process.pid] if database.process else [],
    }
    cpu_before = {name: sum(cpu_seconds(pid) for pid in group) for name, group in pids.items()}
    waiting_before = sum(run_queue_seconds(pid) for pid in pids["aggregators"])
    started = time.monotonic()
    publisher.send(packets, send_times, probes, run.rate_per_second)
    publisher.wait_acknowledged(count, 600)
    watcher.done.wait(600)
    finished = _wait_all_stored(client, count, watcher.seen[count - 1])
    cpu_used = {
        name: sum(cpu_seconds(pid) for pid in group) - cpu_before[name]
        for name, group in pids.items()
    }
    waiting = sum(run_queue_seconds(pid) for pid in pids["aggregators"]) - waiting_before
    publisher.close()
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(60)
    client.close()
    latencies = [watcher.seen[index] - send_times[index] for index in sorted(probes)]
    return Result(replicas, count, finished - started, latencies, cpu_used, waiting)


def _wait_all_stored(client: InfluxClient, count: int, last_probe_seen: float) -> float:
    """When every message's line_counts point is queryable (no earlier than the last probe)."""
    finished = last_probe_seen
    while True:
        series = client.query("SELECT count(entries) FROM line_counts")
        if series and int(series[0].values[0][1]) >= count:
            return finished
        time.sleep(0.05)
        finished = time.monotonic()


def report(label: str, result: Result) -> None:
    replicas, cpu = result.replicas, result.cpu_seconds
    print(
        f"{label}: {result.messages} messages in {result.seconds:.2f} s = "
        f"{result.messages_per_second:,.0f} messages/s "
        f"({result.messages_per_second / replicas:,.0f} per process); latency publish -> "
        f"queryable p50 {result.percentile(0.5) * 1000:.0f} ms, "
        f"p99 {result.percentile(0.99) * 1000:.0f} ms over {len(result.latencies_seconds)} probes",
        flush=True,
    )
    print(
        f"  CPU seconds during the run: aggregators {cpu['aggregators']:.1f}, "
        f"mosquitto {cpu['mosquitto']:.1f}, influxd {cpu['influxd']:.1f} "
        f"(wall {result.seconds:.1f} s on {os.cpu_count()} cores); aggregator CPU per "
        f"message {cpu['aggregators'] / result.messages * 1e6:.0f} µs = "
        f"{result.messages / cpu['aggregators']:,.0f} messages per aggregator CPU-second; "
        f"aggregator threads waited {result.waiting_for_cpu_seconds:.1f} s for a CPU",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--stores", type=int, default=50)
    parser.add_argument("--probe-every", type=int, default=500)
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steady-rate", type=float, default=5000, help="0: skip that run")
    parser.add_argument("--steady-messages", type=int, default=25_000)
    arguments = parser.parse_args()
    print(f"cpu cores: {os.cpu_count()}, load average before: {os.getloadavg()}", flush=True)
    results: list[Result] = []
    with (
        tempfile.TemporaryDirectory(prefix="footfall-bench-") as temporary,
        running_stack(Path(temporary) / "stack") as (broker, database),
    ):
        if arguments.steady_rate:
            steady = Run(1, arguments.steady_messages, arguments.stores, 100, arguments.steady_rate)
            result = run_configuration(steady, Path(temporary), broker, database)
            report(f"1 aggregator, publishing at {arguments.steady_rate:,.0f}/s", result)
        for replicas in arguments.replicas:
            run = Run(replicas, arguments.messages, arguments.stores, arguments.probe_every)
            result = run_configuration(run, Path(temporary), broker, database)
            results.append(result)
            report(f"{replicas} aggregator process(es), backlog", result)
    print(f"load average after: {os.getloadavg()}")
    single = next((result for result in results if result.replicas == 1), results[0])
    print(f"messages_per_second: {single.messages_per_second:.0f}")


if __name__ == "__main__":
    main()

"""``footfall demo``: the whole chain on one clip, on this machine, with nothing installed
as a service: a throw-away Mosquitto and InfluxDB, the aggregator, and the edge worker.

Prints per-line and per-store totals read back from InfluxDB next to the edge's own totals;
they must be equal (the command exits non-zero otherwise).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from aggregator.config import AggregatorConfig
from aggregator.ingest.service import AggregatorService
from aggregator.storage.influx import InfluxClient, InfluxSettings, quote_identifier, quote_string
from aggregator.storage.measurements import ENTRANCE_TRUE, LINE_COUNTS, LineCountsField, Tag
from command_line.progress import frame_progress
from command_line.tables import Column, print_table
from edge.config import EdgeConfig, load_config
from edge.transport.sinks import open_sink
from edge.worker import EdgeWorker, ProcessedFrame
from footfall import __version__
from footfall.local_services import running_stack
from protocol.messages import LineRole

EXAMPLE_CONFIG = Path(__file__).resolve().parents[1] / "examples" / "pets09.yaml"
LineKey = tuple[str, str, str]


@dataclass(frozen=True)
class DemoResult:
    edge_totals: dict[LineKey, tuple[int, int]]
    stored_totals: dict[LineKey, tuple[int, int]]
    store_visits: dict[str, int]
    occupancy: dict[str, tuple[int, int | None]]
    """Live occupancy and capacity per store, as the aggregator published it last."""
    frames: int
    seconds: float

    @property
    def matches(self) -> bool:
        return self.edge_totals == self.stored_totals


def _edge_config(base: EdgeConfig, video: Path, broker_port: int, state: Path) -> EdgeConfig:
    data = base.model_dump(mode="python")
    camera = data["cameras"][0]
    camera["source"]["uri"] = str(video)
    camera["source"]["start_time_utc"] = None  # stamp frames from now, so occupancy is live
    data["cameras"] = [camera]
    data["mqtt"] = {"host": "127.0.0.1", "port": broker_port, "keepalive_seconds": 10}
    data["outbox"] = {"path": state / "outbox.sqlite3"}
    data["health"] = {"interval_seconds": 5}
    return EdgeConfig.model_validate(data)


def _aggregator_config(
    edge: EdgeConfig, broker_port: int, influx_port: int, state: Path
) -> AggregatorConfig:
    camera = edge.cameras[0]
    return AggregatorConfig.model_validate(
        {
            "mqtt": {"host": "127.0.0.1", "port": broker_port, "client_id": "demo-aggregator"},
            "influx": {"url": f"http://127.0.0.1:{influx_port}", "database": "footfall"},
            "stores": [
                {
                    "id": edge.store_id,
                    "timezone": "Europe/London",
                    "capacity": 8,
                    "cameras": [
                        {
                            "id": camera.id,
                            "entrance_lines": [
                                line.id
                                for line in camera.lines
                                if line.line_role is LineRole.ENTRANCE
                            ],
                        }
                    ],
                }
            ],
            "spool_path": state / "spool",
            "batch_seconds": 0.2,
        }
    )


_ENTRIES = quote_identifier(LineCountsField.ENTRIES)
_EXITS = quote_identifier(LineCountsField.EXITS)
_LINE_COUNTS = quote_identifier(LINE_COUNTS)
_STORE, _CAMERA, _LINE = (quote_identifier(tag) for tag in (Tag.STORE, Tag.CAMERA, Tag.LINE))


def stored_line_totals(client: InfluxClient) -> dict[LineKey, tuple[int, int]]:
    totals: dict[LineKey, tuple[int, int]] = {}
    for series in client.query(
        f"SELECT sum({_ENTRIES}) AS entries, sum({_EXITS}) AS exits FROM {_LINE_COUNTS} "
        f"GROUP BY {_STORE}, {_CAMERA}, {_LINE}"
    ):
        row = next(series.rows())
        key = (series.tags[Tag.STORE], series.tags[Tag.CAMERA], series.tags[Tag.LINE])
        totals[key] = (int(row["entries"]), int(row["exits"]))
    return totals


def stored_store_visits(client: InfluxClient) -> dict[str, int]:
    visits: dict[str, int] = {}
    entrance = f"{quote_identifier(Tag.ENTRANCE)} = {quote_string(ENTRANCE_TRUE)}"
    for series in client.query(
        f"SELECT sum({_ENTRIES}) AS visits FROM {_LINE_COUNTS} WHERE {entrance} GROUP BY {_STORE}"
    ):
        visits[series.tags[Tag.STORE]] = int(next(series.rows())["visits"])
    return visits


def _count_clip(worker: EdgeWorker, console: Console) -> None:
    runtime = worker.cameras[0]
    total = runtime.source.frame_count // runtime.config.source.stride or None
    started = time.perf_counter()
    with frame_progress(console) as progress:
        task = progress.add_task(f"counting {runtime.config.id}", total=total, fps="-")

        def on_frame(processed: ProcessedFrame) -> None:
            done = processed.camera.frames_processed
            rate = done / max(time.perf_counter() - started, 1e-9)
            progress.update(task, completed=done, fps=f"{rate:.1f}")

        worker.on_frame = on_frame
        worker.run()


def _wait_for(
    client: InfluxClient, expected: dict[LineKey, tuple[int, int]], timeout_seconds: float
) -> dict[LineKey, tuple[int, int]]:
    deadline = time.monotonic() + timeout_seconds
    stored = stored_line_totals(client)
    while stored != expected and time.monotonic() < deadline:
        time.sleep(0.25)
        stored = stored_line_totals(client)
    return stored


def run_demo(video: Path, config_path: Path, console: Console) -> DemoResult:
    base = load_config(config_path)
    with tempfile.TemporaryDirectory(prefix="footfall-demo-") as directory:
        state = Path(directory)
        with running_stack(state / "services") as (broker, influx):
            console.print(f"Mosquitto on :{broker.port}, InfluxDB on :{influx.port} ({state})")
            edge = _edge_config(base, video, broker.port, state)
            service = AggregatorService(_aggregator_config(edge, broker.port, influx.port, state))
            service.start()
            sink = open_sink(edge, __version__)
            worker = EdgeWorker(edge, sink)
            sink.start()
            started = time.perf_counter()
            try:
                _count_clip(worker, console)
            finally:
                sink.stop(30.0)
            seconds = time.perf_counter() - started
            edge_totals = {
                (edge.store_id, runtime.config.id, line): (counts.entries, counts.exits)
                for runtime in worker.cameras
                for line, counts in runtime.counter.totals.items()
            }
            client = InfluxClient(InfluxSettings(url=f"http://127.0.0.1:{influx.port}"))
            stored = _wait_for(client, edge_totals, timeout_seconds=30)
            visits = stored_store_visits(client)
            service.stop()
            occupancy = {
                snapshot.store_id: (snapshot.occupancy, snapshot.capacity)
                for snapshot in service.book.snapshots(datetime.now(UTC))
            }
            client.close()
            return DemoResult(
                edge_totals, stored, visits, occupancy, worker.cameras[0].frames_processed, seconds
            )


COUNT_COLUMNS = ("edge in", "edge out", "stored in", "stored out")


def print_result(result: DemoResult, console: Console) -> None:
    columns = [
        Column("store"),
        Column("camera"),
        Column("line"),
        *(
            Column(name, numeric=True)
            for name in ("edge in", "edge out", "stored in", "stored out")
        ),
    ]
    rows = []
    for key, (entries, exits) in sorted(result.edge_totals.items()):
        stored_in, stored_out = result.stored_totals.get(key, (0, 0))
        rows.append([*key, str(entries), str(exits), str(stored_in), str(stored_out)])
    print_table(console, columns, rows, title="Per line: edge worker vs InfluxDB")
    for store, visits in sorted(result.store_visits.items()):
        console.print(f"store {store}: {visits} visits (entries over its entrances) in InfluxDB")
    for store, (occupancy, capacity) in sorted(result.occupancy.items()):
        console.print(f"store {store}: live occupancy {occupancy} (capacity {capacity})")
    fps = result.frames / result.seconds if result.seconds else 0.0
    console.print(f"{result.frames} frames in {result.seconds:.1f} s ({fps:.2f} fps)")
    verdict = "[green]equal[/]" if result.matches else "[red]DIFFERENT[/]"
    console.print(f"edge totals and InfluxDB totals: {verdict}")

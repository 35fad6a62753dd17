"""Outbox edges found by ``make mutation`` (issue 17): with several cameras in one outbox
(one per worker), each camera's publisher takes, acknowledges and releases only its own
intervals, so no interval goes out on another camera's topic or is acknowledged for it; the
outbox is opened as configured and refuses nonsense settings by name; an acknowledged interval
is kept for re-sending however short the keep window; every storage failure names the outbox
file and what it could not do (read or write), and loses nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from edge.config import OutboxConfig
from edge.transport.outbox import MINIMUM_QUOTA_BYTES, Outbox, OutboxError
from tests.edge.test_outbox import make_interval


def test_cameras_share_an_outbox_without_taking_each_others_intervals(tmp_path: Path) -> None:
    with Outbox(tmp_path / "outbox.sqlite3", quota_bytes=1 << 20) as outbox:
        for index in range(3):
            outbox.append(make_interval(index, camera_id="door"))
            outbox.append(make_interval(index, entries=5, camera_id="side"))
        door = outbox.take("door", 10)
        assert [(m.camera_id, m.sequence) for m in door] == [("door", 0), ("door", 1), ("door", 2)]
        assert (outbox.in_flight("door"), outbox.in_flight("side")) == (3, 0)
        side = outbox.take("side", 2)
        assert {m.camera_id for m in side} == {"side"}
        assert outbox.acknowledge("door", [0, 1, 2]) == 3
        assert (outbox.depth("door"), outbox.depth("side")) == (0, 3)
        assert outbox.in_flight("door") == 0
        outbox.release("side", [m.sequence for m in side])
        again = outbox.take("side", 10)
        assert [(m.camera_id, m.sequence) for m in again] == [("side", 0), ("side", 1), ("side", 2)]
        assert sum(line.entries for m in again for line in m.lines.values()) == 15


def test_from_config_opens_the_configured_file_with_its_quota_and_keep_window(
    tmp_path: Path,
) -> None:
    config = OutboxConfig(
        path=tmp_path / "configured.sqlite3", quota_bytes=65_536, keep_acknowledged_seconds=0.5
    )
    with Outbox.from_config(config) as outbox:
        assert (outbox.path, outbox.quota_bytes, outbox.keep_acknowledged_seconds) == (
            tmp_path / "configured.sqlite3",
            65_536,
            0.5,
        )
        outbox.append(make_interval(0))
    assert (tmp_path / "configured.sqlite3").is_file()


def test_a_keep_window_under_a_second_still_keeps_acknowledged_intervals(tmp_path: Path) -> None:
    """Kept for re-sending after a reconnect, however short the window (not deleted)."""
    now = [1_000.0]
    outbox = Outbox(
        tmp_path / "o.sqlite3", 1 << 20, keep_acknowledged_seconds=0.5, clock=lambda: now[0]
    )
    outbox.append(make_interval(0, entries=4))
    assert outbox.acknowledge("door", [0]) == 1
    kept = outbox.recently_acknowledged("door")
    assert [(m.sequence, m.lines["entrance"].entries) for m in kept] == [(0, 4)]
    assert outbox.stored_bytes > 0
    outbox.close()


def test_releasing_for_a_camera_with_nothing_in_flight_changes_nothing(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.sqlite3", 1 << 20) as outbox:
        outbox.append(make_interval(0))
        outbox.release("side", [0])
        assert [m.sequence for m in outbox.take("door", 10)] == [0]


@pytest.mark.parametrize(
    ("quota_bytes", "keep_seconds", "message"),
    [
        (MINIMUM_QUOTA_BYTES - 1, 0.0, "outbox quota_bytes 4095 is below 4096"),
        (MINIMUM_QUOTA_BYTES, -1.0, "outbox keep_acknowledged_seconds -1.0 is negative"),
    ],
)
def test_nonsense_settings_are_refused_by_name(
    tmp_path: Path, quota_bytes: int, keep_seconds: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Outbox(tmp_path / "o.sqlite3", quota_bytes, keep_acknowledged_seconds=keep_seconds)
    assert not (tmp_path / "o.sqlite3").exists()


def test_a_write_that_fails_names_what_it_could_not_do_and_changes_nothing(
    tmp_path: Path,
) -> None:
    """The database refuses writes (as a read-only remount or a failing card does) while
    reads work: each write fails with an error naming the file and the operation, and once
    writes work again the queue is exactly as it was."""
    path = tmp_path / "outbox.sqlite3"
    with Outbox(path, quota_bytes=1 << 20, keep_acknowledged_seconds=60) as outbox:
        for index in range(3):
            outbox.append(make_interval(index, entries=index + 1))
        assert [m.sequence for m in outbox.take("door", 1)] == [0]
        assert outbox.acknowledge("door", [0]) == 1
        connection = outbox._database.connection
        connection.execute("PRAGMA query_only = ON")
        writes: dict[str, Callable[[], object]] = {
            "store an interval": lambda: outbox.append(make_interval(3)),
            "mark intervals sent": lambda: outbox.take("door", 1),
            "requeue intervals": lambda: outbox.requeue("door", [0]),
            "acknowledge intervals": lambda: outbox.acknowledge("door", [1]),
        }
        for action, write in writes.items():
            with pytest.raises(OutboxError) as raised:
                write()
            assert str(raised.value).startswith(f"outbox {path}: cannot {action}: ")
        connection.execute("PRAGMA query_only = OFF")
        assert outbox.depth("door") == 2
        assert [m.lines["entrance"].entries for m in outbox.pending("door")] == [2, 3]
        assert [m.sequence for m in outbox.recently_acknowledged("door")] == [0]


def test_a_read_from_a_broken_outbox_names_what_it_could_not_do(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    outbox = Outbox(path, quota_bytes=1 << 20)
    outbox.append(make_interval(0))
    outbox._database.connection.close()  # what a vanished file or I/O error leaves
    reads: dict[str, Callable[[], object]] = {
        "count intervals": lambda: outbox.depth("door"),
        "read the sequence": lambda: outbox.next_sequence("side"),
        "read the last interval end": lambda: outbox.last_interval_end("side"),
        "read the camera state": lambda: outbox.append(make_interval(0, camera_id="side")),
        "read pending intervals": outbox.pending,
        "read acknowledged intervals": lambda: outbox.recently_acknowledged("door"),
    }
    for action, read in reads.items():
        with pytest.raises(OutboxError, match=f"^outbox {path}: cannot {action}: "):
            read()
    with pytest.raises(OutboxError, match=f"^outbox {path}: cannot read pending intervals: "):
        outbox.take("door", 1)
    with Outbox(path, quota_bytes=1 << 20) as reopened:
        assert [m.sequence for m in reopened.pending("door")] == [0]

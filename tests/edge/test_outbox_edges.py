"""Outbox edges found by ``make mutation`` (issue 17): with several cameras in one outbox
(one per worker), each camera's publisher takes, acknowledges and releases only its own
intervals, so no interval goes out on another camera's topic or is acknowledged for it; the
outbox is opened as configured and refuses nonsense settings by name; an acknowledged interval
is kept for re-sending however short the keep window."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import OutboxConfig
from edge.transport.outbox import MINIMUM_QUOTA_BYTES, Outbox
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

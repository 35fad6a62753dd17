"""Outbox edges found by ``make mutation`` (issue 17): with several cameras in one outbox
(one per worker), each camera's publisher takes, acknowledges and releases only its own
intervals, so no interval goes out on another camera's topic or is acknowledged for it."""

from __future__ import annotations

from pathlib import Path

from edge.transport.outbox import Outbox
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

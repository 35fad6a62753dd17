"""Entrance lines of the store registry that no edge device reports.

Occupancy counts only the crossings of a store's entrance lines; a registry line id that
matches no line of the edge's config (``dor`` for ``door``) leaves occupancy at 0 and says
nothing. :class:`EntranceLineWatch` knows every configured entrance line, marks the ones that
InfluxDB already holds counts for (at start) or that a count interval reports, and names the
rest: in a warning at start, once per camera whose intervals lack one, and in the
aggregator's retained status (``/health`` of the API).
"""

from __future__ import annotations

import logging
import threading

from aggregator.config import AggregatorConfig
from aggregator.storage.influx import InfluxClient
from aggregator.storage.measurements import LINE_COUNTS, Tag
from protocol.messages import CountInterval, LineRole

log = logging.getLogger(__name__)

LineKey = tuple[str, str, str]
"""(store id, camera id, line id)."""


class EntranceLineWatch:
    """Thread-safe: ``observe`` runs on the MQTT thread, ``never_seen`` on the ticker."""

    def __init__(self, config: AggregatorConfig) -> None:
        self._expected: set[LineKey] = {
            (store.id, camera.id, line_id)
            for store in config.stores
            for camera in store.cameras
            for line_id in camera.entrance_lines or ()
        }
        self._unseen = set(self._expected)
        self._cameras_warned: set[tuple[str, str]] = set()
        self._roles_warned: set[LineKey] = set()
        self._lock = threading.Lock()

    def mark_stored(self, client: InfluxClient) -> None:
        """Mark the lines that InfluxDB holds counts for (``SHOW SERIES``: no data scanned)."""
        if not self._unseen:
            return
        stored: set[LineKey] = set()
        for series in client.query(f'SHOW SERIES FROM "{LINE_COUNTS}"'):
            for row in series.rows():
                tags = dict(part.split("=", 1) for part in str(row["key"]).split(",")[1:])
                if {Tag.STORE, Tag.CAMERA, Tag.LINE} <= tags.keys():
                    stored.add((tags[Tag.STORE], tags[Tag.CAMERA], tags[Tag.LINE]))
        with self._lock:
            self._unseen -= stored

    def observe(self, message: CountInterval) -> None:
        """Mark the interval's lines; warn (once per camera) when it lacks an entrance line,
        and once per line when a version 2 edge gives a registered entrance line another
        role (the registry cannot make it an entrance: ``aggregator/storage/line_roles.py``)."""
        store_id, camera_id = message.store_id, message.camera_id
        if message.schema_version == 2:
            self._check_roles(message)
        with self._lock:
            if not self._unseen:
                return
            for line_id in message.lines:
                self._unseen.discard((store_id, camera_id, line_id))
            missing = sorted(
                line
                for store, camera, line in self._unseen
                if (store, camera) == (store_id, camera_id)
            )
            if not missing or (store_id, camera_id) in self._cameras_warned:
                return
            self._cameras_warned.add((store_id, camera_id))
        log.warning(
            "camera %s/%s reports lines %s but not its registered entrance line(s) %s: "
            "occupancy counts none of their crossings (check stores -> cameras -> "
            "entrance_lines of the aggregator config)",
            store_id,
            camera_id,
            ", ".join(sorted(message.lines)) or "(none)",
            ", ".join(missing),
        )

    def _check_roles(self, message: CountInterval) -> None:
        store_id, camera_id = message.store_id, message.camera_id
        contradicted = [
            (line_id, line.role.value)
            for line_id, line in message.lines.items()
            if line.role is not None
            and line.role is not LineRole.ENTRANCE
            and (store_id, camera_id, line_id) in self._expected
            and (store_id, camera_id, line_id) not in self._roles_warned
        ]
        if not contradicted:
            return
        with self._lock:
            self._roles_warned.update((store_id, camera_id, line) for line, _ in contradicted)
        for line_id, role in contradicted:
            log.warning(
                "line %s/%s/%s is an entrance in the aggregator's registry but the edge says "
                "role: %s, and the edge's role wins (set role: entrance in the edge config, "
                "or drop the line from entrance_lines)",
                store_id,
                camera_id,
                line_id,
                role,
            )

    def never_seen(self) -> list[str]:
        """``store/camera/line`` of the entrance lines nobody has reported, sorted."""
        with self._lock:
            return sorted("/".join(key) for key in self._unseen)

    def warn_at_start(self) -> None:
        unseen = self.never_seen()
        if unseen:
            log.warning(
                "entrance line(s) %s of the store registry have never been reported by an "
                "edge device: occupancy stays 0 for their crossings until one is",
                ", ".join(unseen),
            )

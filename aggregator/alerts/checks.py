"""One round of alert checks over everything the monitor has heard: the state machine fed
with the capacity, entrance-camera and visits observations of every store.

The camera states are the HTTP API's (``aggregator.api.counting_state``): an alert says a
camera is offline exactly when the entrance display says counting is paused because of it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from aggregator.alert_settings import AlertSettings
from aggregator.alerts.baseline import (
    hour_visits,
    same_hour_previous_weeks,
    visits_observation,
)
from aggregator.alerts.rules import AlertBook, Observation, camera_observation, capacity_observation
from aggregator.api.counting_state import CameraReport, camera_state, entrance_camera_ids
from aggregator.config import AggregatorConfig
from aggregator.storage.influx import InfluxClient, InfluxError
from protocol.alerts import AlertEvent
from protocol.messages import StoreOccupancy

log = logging.getLogger(__name__)

INFLUX_RETRY_SECONDS = 60.0


def judged_hour_start(now_utc: datetime, timezone: str, delay_seconds: float) -> datetime:
    """UTC start of the last store-local hour that ended at least ``delay_seconds`` ago."""
    settled = (now_utc - timedelta(seconds=delay_seconds)).astimezone(ZoneInfo(timezone))
    hour_end = settled.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    return hour_end - timedelta(hours=1)


class AlertChecks:
    """Turns observations into events; remembers which hour of each store it judged."""

    def __init__(
        self, config: AggregatorConfig, settings: AlertSettings, influx: InfluxClient | None
    ) -> None:
        self.config = config
        self.settings = settings
        self.book = AlertBook()
        self.silence_seconds = settings.camera_silence_seconds or config.api.camera_silence_seconds
        self._influx = influx
        self._judged_hour: dict[str, datetime] = {}
        self._influx_retry_utc: datetime | None = None

    def evaluate(
        self,
        occupancies: Sequence[StoreOccupancy],
        reports: Mapping[str, Sequence[CameraReport]],
        now_utc: datetime,
        broker_connected: bool = True,
    ) -> list[AlertEvent]:
        """Events of this round; ``reports`` holds each store's camera reports by store id.
        While the monitor has lost the broker it hears no camera, so cameras are not judged
        (every one would look silent) until it is back."""
        observations = [
            capacity_observation(occupancy, self.settings.capacity_clear_margin, now_utc)
            for occupancy in occupancies
        ]
        if broker_connected:
            observations += self._camera_observations(reports, now_utc)
        stores = {store.id for store in self.config.stores} or {o.store_id for o in occupancies}
        observations += self._visits_observations(sorted(stores), now_utc)
        events = [self.book.observe(observation) for observation in observations]
        return [event for event in events if event is not None]

    def _camera_observations(
        self, reports: Mapping[str, Sequence[CameraReport]], now_utc: datetime
    ) -> list[Observation]:
        registry = {store.id: store for store in self.config.stores}
        observations: list[Observation] = []
        for store_id in sorted(set(registry) | set(reports)):
            by_camera = {report.camera_id: report for report in reports.get(store_id, ())}
            for camera_id in entrance_camera_ids(registry.get(store_id), list(by_camera)):
                camera = camera_state(
                    camera_id, by_camera.get(camera_id), now_utc, self.silence_seconds
                )
                observations.append(
                    camera_observation(store_id, camera, self.silence_seconds, now_utc)
                )
        return observations

    def _visits_observations(self, store_ids: list[str], now_utc: datetime) -> list[Observation]:
        settings = self.settings.visits_low
        if not settings.enabled or self._influx is None:
            return []
        if self._influx_retry_utc is not None and now_utc < self._influx_retry_utc:
            return []
        observations: list[Observation] = []
        for store_id in store_ids:
            store = self.config.store(store_id)
            hour_start = judged_hour_start(now_utc, store.timezone, settings.check_delay_seconds)
            if self._judged_hour.get(store_id) == hour_start:
                continue
            windows = same_hour_previous_weeks(hour_start, store.zone, settings.history_weeks)
            try:
                visits = hour_visits(
                    self._influx, store_id, hour_start, hour_start + timedelta(hours=1)
                )
                history = [hour_visits(self._influx, store_id, *window) for window in windows]
            except InfluxError as error:
                log.warning("visits check: %s; retrying in %.0f s", error, INFLUX_RETRY_SECONDS)
                self._influx_retry_utc = now_utc + timedelta(seconds=INFLUX_RETRY_SECONDS)
                return observations
            self._judged_hour[store_id] = hour_start
            observations.append(
                visits_observation(store_id, hour_start, visits, history, settings, now_utc)
            )
        return observations

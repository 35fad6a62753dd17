"""What the API's routes share: the config, the live board and the clients, created when the
app starts (inside the serving event loop) and closed when it stops."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import HTTPException, status

from aggregator.api.board import LiveBoard
from aggregator.api.subscriber import LiveSubscriber
from aggregator.config import AggregatorConfig, MqttSettings, StoreConfig
from aggregator.storage.influx import InfluxClient

API_CLIENT_ID = "footfall-api"


@dataclass
class ApiContext:
    config: AggregatorConfig
    write_token: str | None
    board: LiveBoard | None = field(default=None, init=False)
    subscriber: LiveSubscriber | None = field(default=None, init=False)
    influx: InfluxClient | None = field(default=None, init=False)

    @property
    def mqtt_settings(self) -> MqttSettings:
        if self.config.api.mqtt is not None:
            return self.config.api.mqtt
        return self.config.mqtt.model_copy(update={"client_id": API_CLIENT_ID})

    def live_board(self) -> LiveBoard:
        if self.board is None:
            raise RuntimeError("the API has not started: no live board")
        return self.board

    def influx_client(self) -> InfluxClient:
        if self.influx is None:
            raise RuntimeError("the API has not started: no InfluxDB client")
        return self.influx

    def configured_store(self, store_id: str) -> StoreConfig | None:
        for store in self.config.stores:
            if store.id == store_id:
                return store
        return None

    def known_store_ids(self) -> list[str]:
        """Configured stores first (in config order), then stores only seen on the broker."""
        configured = [store.id for store in self.config.stores]
        seen = sorted(self.live_board().store_ids() - set(configured))
        return configured + seen

    def require_store(self, store_id: str) -> str:
        seen = self.live_board().store_ids()
        if self.configured_store(store_id) is None and store_id not in seen:
            known = ", ".join(self.known_store_ids()) or "none yet"
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"unknown store {store_id!r} (known: {known})"
            )
        return store_id

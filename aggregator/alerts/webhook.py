"""Alert events to an HTTP endpoint: one JSON POST per event (``protocol.alerts.AlertEvent``)
with the configured secret in a header.

Events wait in memory, in order, and a thread of their own sends them: a slow or failing
receiver never holds up ingest or the alert checks. A failed POST (no answer, or not 2xx) is
retried with exponential backoff until it succeeds, so no event is lost while the process
runs; at stop the queue gets a last chance (``stop``'s timeout) and what remains is logged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

import httpx

from aggregator.alert_settings import WebhookSettings
from protocol.alerts import AlertEvent
from protocol.settings import ConfigError

log = logging.getLogger(__name__)


@dataclass
class WebhookStats:
    delivered: int = 0
    failed_attempts: int = 0
    last_error: str | None = None


class WebhookSender:
    """Sends events submitted from any thread, oldest first, each until the receiver takes it."""

    def __init__(self, settings: WebhookSettings) -> None:
        try:
            secret = settings.secret_value()
        except OSError as error:
            raise ConfigError(
                f"alerts -> webhook -> secret_file: cannot read {settings.secret_file}: "
                f"{error.strerror}"
            ) from None
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[settings.secret_header] = secret
        self.settings = settings
        self.stats = WebhookStats()
        self._http = httpx.Client(headers=headers, timeout=settings.timeout_seconds)
        self._pending: deque[AlertEvent] = deque()
        self._wake = threading.Condition()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alert-webhook", daemon=True)

    @property
    def pending(self) -> int:
        with self._wake:
            return len(self._pending)

    def start(self) -> None:
        self._thread.start()

    def submit(self, event: AlertEvent) -> None:
        """Queue ``event``; returns at once."""
        with self._wake:
            self._pending.append(event)
            self._wake.notify()

    def stop(self, timeout_seconds: float = 5.0) -> None:
        """Give queued events ``timeout_seconds`` to go out, then stop (logging any left)."""
        deadline = time.monotonic() + timeout_seconds
        while self.pending and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        self._stopping.set()
        with self._wake:
            self._wake.notify()
        if self._thread.is_alive():
            self._thread.join(self.settings.timeout_seconds + 1)
        left = self.pending
        if left:
            log.error("%d alert event(s) not delivered to %s", left, self.settings.url)
        self._http.close()

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            with self._wake:
                while not self._pending and not self._stopping.is_set():
                    self._wake.wait()
                if self._stopping.is_set():
                    return
                event = self._pending[0]
            if self._post(event):
                failures = 0
                with self._wake:
                    self._pending.popleft()
            else:
                failures += 1
                self._stopping.wait(self._delay_seconds(failures))

    def _post(self, event: AlertEvent) -> bool:
        try:
            response = self._http.post(
                self.settings.url, content=event.model_dump_json().encode("utf-8")
            )
        except httpx.HTTPError as error:
            return self._failed(f"{type(error).__name__}: {error}")
        if 200 <= response.status_code < 300:
            self.stats.delivered += 1
            return True
        return self._failed(f"answered {response.status_code}: {response.text[:200]}")

    def _failed(self, error: str) -> bool:
        self.stats.failed_attempts += 1
        if error != self.stats.last_error:
            log.warning("alert webhook %s: %s; retrying", self.settings.url, error)
        self.stats.last_error = error
        return False

    def _delay_seconds(self, failures: int) -> float:
        delay = self.settings.retry_initial_seconds * 2 ** min(failures - 1, 30)
        return float(min(delay, self.settings.retry_maximum_seconds))

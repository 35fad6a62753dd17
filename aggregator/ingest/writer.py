"""The batching InfluxDB writer: nothing it accepts is lost, and it says when data is durable.

Lines are collected into a batch that is flushed when it holds ``batch_points`` lines or is
``batch_seconds`` old. A flushed batch is durable once InfluxDB answered 204 or it has been
fsync'd to the :class:`~aggregator.ingest.spool.Spool`; only then are the batch's tokens handed to
``on_durable`` (the service acknowledges the MQTT messages there), always in the order they
were added. While segments wait in the spool, new batches go behind them so that a later
write of a point never lands before an earlier one; draining is retried with exponential
backoff. A batch InfluxDB refuses as malformed (HTTP 400) is kept under ``spool/rejected``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from aggregator.ingest.spool import Segment, Spool, SpoolError
from aggregator.storage.influx import InfluxClient, InfluxError

log = logging.getLogger(__name__)

Token = TypeVar("Token")


@dataclass(frozen=True)
class Backoff:
    """Delay before retry number ``failures`` (1-based): initial x 2^(n-1), capped."""

    initial_seconds: float = 0.5
    maximum_seconds: float = 10.0

    def __post_init__(self) -> None:
        if not 0 < self.initial_seconds <= self.maximum_seconds:
            raise ValueError(
                f"backoff needs 0 < initial_seconds ({self.initial_seconds}) <= "
                f"maximum_seconds ({self.maximum_seconds})"
            )

    def delay_seconds(self, failures: int) -> float:
        exponent = min(max(failures - 1, 0), 30)
        return float(min(self.maximum_seconds, self.initial_seconds * 2**exponent))


@dataclass
class WriterStats:
    points_written: int = 0
    batches_written: int = 0
    batches_spooled: int = 0
    segments_drained: int = 0
    batches_rejected: int = 0
    last_error: str | None = None


@dataclass
class _Batch(Generic[Token]):
    lines: list[str] = field(default_factory=list)
    tokens: list[Token] = field(default_factory=list)
    started_monotonic: float = 0.0
    added_through: int = 0
    """Value of the writer's ``added`` counter after this batch's last ``add``."""

    def __bool__(self) -> bool:
        return bool(self.lines or self.tokens)


def is_malformed(error: InfluxError) -> bool:
    """InfluxDB refused the data itself (HTTP 400), so retrying the same body cannot help."""
    return not error.retryable and "answered 400" in str(error)


class BatchWriter(Generic[Token]):
    """Batches line protocol into InfluxDB; tokens come back through ``on_durable``."""

    def __init__(
        self,
        client: InfluxClient,
        spool: Spool,
        on_durable: Callable[[list[Token]], None],
        *,
        batch_points: int = 5000,
        batch_seconds: float = 0.5,
        backoff: Backoff | None = None,
    ) -> None:
        if batch_points < 1 or batch_seconds <= 0:
            raise ValueError(
                f"batch_points {batch_points} and batch_seconds {batch_seconds} must be > 0"
            )
        self._client = client
        self._spool = spool
        self._on_durable = on_durable
        self._batch_points = batch_points
        self._batch_seconds = batch_seconds
        self._backoff = backoff or Backoff()
        self._batch: _Batch[Token] = _Batch()
        self._sealed: deque[_Batch[Token]] = deque()
        self._condition = threading.Condition()
        self._stopping = False
        self._flush_requested = False
        self._added = 0
        self._durable = 0
        self._failures = 0
        self._next_drain_monotonic = 0.0
        self._thread: threading.Thread | None = None
        self.stats = WriterStats()

    @property
    def spooled_segments(self) -> int:
        return len(self._spool)

    def add(self, lines: Sequence[str], token: Token | None = None) -> None:
        """Queue lines (may be empty) and a token that comes back once they are durable."""
        with self._condition:
            batch = self._batch
            if not batch:
                batch.started_monotonic = time.monotonic()
            batch.lines.extend(lines)
            if token is not None:
                batch.tokens.append(token)
            self._added += 1
            batch.added_through = self._added
            if len(batch.lines) >= self._batch_points:
                self._sealed.append(batch)
                self._batch = _Batch()
                self._condition.notify()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="influx-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout_seconds: float = 30.0) -> None:
        """Flush what was added, then stop. Unflushed tokens are never passed on (not acked)."""
        with self._condition:
            self._stopping = True
            self._condition.notify()
        if self._thread is not None:
            self._thread.join(timeout_seconds)
            if self._thread.is_alive():
                log.error(
                    "InfluxDB writer still busy after %.0f s; stopping anyway", timeout_seconds
                )

    def drain_now(self) -> bool:
        """Drain the spool synchronously (before :meth:`start` only); True when it is empty."""
        if self._thread is not None:
            raise RuntimeError("drain_now() is for start-up, before the writer thread runs")
        self._drain()
        return not len(self._spool)

    def wait_durable(self, timeout_seconds: float) -> bool:
        """Wait until everything added so far is durable (written or spooled)."""
        deadline = time.monotonic() + timeout_seconds
        with self._condition:
            target = self._added
            while self._durable < target:
                self._flush_requested = True
                self._condition.notify_all()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._condition.wait(min(remaining, 0.05))
        return True

    def _run(self) -> None:
        while True:
            batch, last = self._take_batch()
            if batch and not self._store(batch):
                return
            if batch.tokens:
                self._on_durable(batch.tokens)
            with self._condition:
                self._durable = max(self._durable, batch.added_through)
                self._condition.notify_all()
            if last:
                return
            if len(self._spool) and time.monotonic() >= self._next_drain_monotonic:
                self._drain()

    def _take_batch(self) -> tuple[_Batch[Token], bool]:
        """The next batch to store (full ones first), and whether it is the last one."""
        with self._condition:
            while not self._sealed and not self._stopping:
                batch = self._batch
                now = time.monotonic()
                age_seconds = now - batch.started_monotonic
                if batch and (age_seconds >= self._batch_seconds or self._flush_requested):
                    break
                if self._durable < self._added and not batch:
                    batch.added_through = self._added
                    break
                wait_seconds = self._batch_seconds - age_seconds if batch else self._batch_seconds
                if len(self._spool):
                    wait_seconds = min(wait_seconds, max(self._next_drain_monotonic - now, 0.0))
                    if wait_seconds <= 0:
                        break
                self._condition.wait(wait_seconds)
            if self._sealed:
                return self._sealed.popleft(), False
            self._flush_requested = False
            taken, self._batch = self._batch, _Batch()
            return taken, self._stopping

    def _store(self, batch: _Batch[Token]) -> bool:
        """Make ``batch`` durable; False only when stopping while the spool cannot be written."""
        if not batch.lines:
            return True
        body = ("\n".join(batch.lines) + "\n").encode("utf-8")
        if len(self._spool) and time.monotonic() >= self._next_drain_monotonic:
            self._drain()
        if not len(self._spool) and self._write(body, len(batch.lines)):
            return True
        attempt = 0
        while True:
            try:
                self._spool.append(body)
                self.stats.batches_spooled += 1
                return True
            except SpoolError as error:
                attempt += 1
                self._record_failure(f"spool write failed (messages stay unacknowledged): {error}")
                if self._stopping:
                    return False
                time.sleep(self._backoff.delay_seconds(attempt))

    def _write(self, body: bytes, line_count: int) -> bool:
        """Write directly; True when the body is durable (written, or kept as rejected)."""
        try:
            self._client.write_body(body)
        except InfluxError as error:
            if is_malformed(error):
                self._keep_rejected(body, error)
                return True
            self._schedule_retry(error)
            return False
        self.stats.points_written += line_count
        self.stats.batches_written += 1
        return True

    def _drain(self) -> None:
        while (segment := self._spool.oldest()) is not None:
            try:
                self._client.write_body(segment.read())
            except InfluxError as error:
                if is_malformed(error):
                    self._keep_rejected(segment, error)
                    continue
                self._schedule_retry(error)
                return
            except OSError as error:
                self._record_failure(f"cannot read spool segment {segment.path}: {error}")
                return
            self._spool.remove(segment)
            self.stats.segments_drained += 1
        if self._failures:
            log.info("InfluxDB is writable again; spool drained")
        self._failures = 0

    def _schedule_retry(self, error: InfluxError) -> None:
        self._failures += 1
        delay_seconds = self._backoff.delay_seconds(self._failures)
        self._next_drain_monotonic = time.monotonic() + delay_seconds
        if self._failures == 1 or self._failures % 10 == 0:
            self._record_failure(
                f"{error}; spooling to {self._spool.directory} ({len(self._spool)} segments), "
                f"retry {self._failures} in {delay_seconds:.1f} s"
            )

    def _keep_rejected(self, batch: bytes | Segment, error: InfluxError) -> None:
        path = self._spool.reject(batch, str(error))
        self.stats.batches_rejected += 1
        self._record_failure(f"InfluxDB refused a batch as malformed, kept at {path}: {error}")

    def _record_failure(self, message: str) -> None:
        self.stats.last_error = message
        log.error("%s", message)

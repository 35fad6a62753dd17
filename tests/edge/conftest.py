"""Fixtures of the edge tests that talk to real Mosquitto brokers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.edge.mqtt_support import PublisherFactory


@pytest.fixture
def make_publisher(tmp_path: Path) -> Iterator[PublisherFactory]:
    """Started publishers on the test's own outbox; all stopped after the test."""
    factory = PublisherFactory(tmp_path)
    yield factory
    factory.stop_all()

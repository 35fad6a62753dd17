"""``footfall aggregator api``: serves from a config file; a bad config is one clear error."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
from typer.testing import CliRunner

from aggregator.cli import app
from footfall.local_services import LocalService, free_port
from tests.aggregator.api.support import wait_until

LAUNCH = "from aggregator.cli import app; app()"


def test_api_command_serves_until_sigterm(mosquitto_server: LocalService, tmp_path: Path) -> None:
    config = tmp_path / "aggregator.yaml"
    config.write_text(
        f"mqtt: {{port: {mosquitto_server.port}}}\n"
        "stores: [{id: shop-1, capacity: 25}]\n"
        "api: {host: 127.0.0.1, port: 1}\n"
    )
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, "api", "--config", str(config), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:

        def stores() -> object:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/stores", timeout=1).json()
            except httpx.HTTPError:
                return None

        listed = wait_until(stores, 20)
        assert [(store["id"], store["capacity"]) for store in listed] == [("shop-1", 25)]
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=15)
    # uvicorn shuts down cleanly, then re-raises SIGTERM (systemd counts that as success).
    assert server.returncode in (0, -signal.SIGTERM), output.decode()
    assert "Application shutdown complete" in output.decode()


def test_bad_config_is_one_error_and_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "aggregator.yaml"
    config.write_text("api: {port: 0, write_token: short}\n")
    result = CliRunner().invoke(app, ["api", "--config", str(config)])
    assert result.exit_code == 2
    assert "api -> port" in result.output
    short = tmp_path / "short.yaml"
    short.write_text("api: {write_token: short}\n")
    result = CliRunner().invoke(app, ["api", "--config", str(short)])
    assert result.exit_code == 2
    assert "the token has 5 characters" in result.output


def test_stop_with_a_display_open_ends_the_stream_cleanly(
    mosquitto_server: LocalService, tmp_path: Path
) -> None:
    """A normal stop while an entrance display streams: the stream ends by itself (no
    uvicorn "Cancel N running task(s)" error) and the server exits within the grace time."""
    import threading
    import time

    config = tmp_path / "aggregator.yaml"
    config.write_text(f"mqtt: {{port: {mosquitto_server.port}, topic_root: quiet/v1}}\n")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, "api", "--config", str(config), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    events: list[str] = []

    def stream() -> None:
        try:
            with httpx.stream(
                "GET", f"http://127.0.0.1:{port}/events/occupancy", timeout=30
            ) as response:
                for line in response.iter_lines():
                    events.append(line)
        except httpx.HTTPError:
            events.append("broken")

    try:
        wait_until(lambda: _answers(port), 20)
        reader = threading.Thread(target=stream, daemon=True)
        reader.start()
        wait_until(lambda: any(line.startswith("event: heartbeat") for line in events), 10)
    finally:
        stopped_at = time.monotonic()
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=15)
    text = output.decode()
    assert time.monotonic() - stopped_at < 3.0, text
    assert server.returncode in (0, -signal.SIGTERM), text
    assert "Cancel" not in text, text
    assert "ERROR" not in text, text
    reader.join(5)
    assert not reader.is_alive()
    assert "broken" not in events


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code in (200, 503)
    except httpx.HTTPError:
        return False

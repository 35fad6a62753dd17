"""Start throw-away Mosquitto and InfluxDB servers on free loopback ports in a temp dir.

Used by the test fixtures, ``make demo`` and the benchmarks. Production deployments run the
services from ``deploy/`` instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


class ServiceError(RuntimeError):
    """A local service binary is missing or did not start."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _binary(name: str, package: str) -> str:
    for candidate in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        if candidate and Path(candidate).exists():
            return candidate
    raise ServiceError(f"{name} not found: install the Debian package {package!r} (make setup)")


def _wait_for_port(port: int, process: subprocess.Popen[bytes], name: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServiceError(
                f"{name} exited with {process.returncode}: {log.read_text()[-2000:]}"
            )
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise ServiceError(f"{name} did not listen on port {port} within 30 s")


@dataclass
class LocalService:
    """A server process with its own directory; ``stop`` ends it, ``kill`` simulates a crash."""

    name: str
    command: list[str]
    directory: Path
    port: int
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def log_path(self) -> Path:
        return self.directory / f"{self.name}.log"

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command, stdout=log, stderr=subprocess.STDOUT, cwd=self.directory
        )
        log.close()
        self.wait_ready()

    def wait_ready(self) -> None:
        assert self.process is not None
        _wait_for_port(self.port, self.process, self.name, self.log_path)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def kill(self) -> None:
        """``kill -9``: no clean shutdown, as in a crash or power loss."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def pause(self) -> None:
        """SIGSTOP: the process keeps its sockets but stops answering (a hung server)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)


def mosquitto(directory: Path, port: int | None = None, extra_config: str = "") -> LocalService:
    """A Mosquitto 2 broker on loopback that allows anonymous clients unless ``extra_config``
    says otherwise (the deploy tests pass the shipped ACL config)."""
    port = port or free_port()
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "mosquitto.conf"
    listener = f"listener {port} 127.0.0.1\n"
    body = extra_config if extra_config else "allow_anonymous true\n"
    # Started as root, Mosquitto drops to the 'mosquitto' user, which cannot write into a
    # private temp dir: persistence would silently do nothing. Stay root for throw-away brokers.
    names_user = any(line.strip().startswith("user ") for line in body.splitlines())
    user = "user root\n" if os.geteuid() == 0 and not names_user else ""
    config.write_text(
        listener
        + user
        + body
        + f"persistence true\npersistence_location {directory}/\n"
        + "max_queued_messages 1000000\nmax_inflight_messages 0\n"
        + "log_type error\nlog_type warning\nlog_type notice\n"
    )
    return LocalService(
        "mosquitto", [_binary("mosquitto", "mosquitto"), "-c", str(config)], directory, port
    )


def influxdb(directory: Path, port: int | None = None) -> LocalService:
    """An InfluxDB 1.x server (Debian's influxd) on loopback, authentication off."""
    port = port or free_port()
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "influxdb.conf"
    config.write_text(
        f"""reporting-disabled = true
bind-address = "127.0.0.1:{free_port()}"
[meta]
  dir = "{directory}/meta"
[data]
  dir = "{directory}/data"
  wal-dir = "{directory}/wal"
  query-log-enabled = false
  trace-logging-enabled = false
[coordinator]
  query-timeout = "60s"
[retention]
  enabled = true
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:{port}"
  log-enabled = false
  max-body-size = 0
  max-row-limit = 0
[continuous_queries]
  enabled = false
[logging]
  level = "warn"
"""
    )
    service = LocalService(
        "influxd", [_binary("influxd", "influxdb"), "-config", str(config)], directory, port
    )
    return service


def wait_influx_ping(port: int, timeout_seconds: float = 30) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1) as reply,
        ):
            if reply.status == 204:
                return
        time.sleep(0.05)
    raise ServiceError(f"InfluxDB on port {port} did not answer /ping within {timeout_seconds} s")


@contextlib.contextmanager
def running_stack(directory: Path | None = None) -> Iterator[tuple[LocalService, LocalService]]:
    """Mosquitto and InfluxDB for the length of a ``with`` block."""
    with contextlib.ExitStack() as stack:
        root = directory or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="footfall-"))
        )
        broker = mosquitto(root / "mosquitto")
        database = influxdb(root / "influxdb")
        stack.callback(broker.stop)
        stack.callback(database.stop)
        broker.start()
        database.start()
        wait_influx_ping(database.port)
        yield broker, database

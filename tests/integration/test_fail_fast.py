"""Issue 9, finding 6: misconfiguration fails fast, on the real broker and InfluxDB.

``check-config`` (edge and aggregator) names every missing file, a malformed InfluxDB URL
and, with ``--connect``, what the broker and InfluxDB answer; ``aggregator run`` with an
InfluxDB setting that no retry can fix (a URL that answers 404, https against plain http)
stops within seconds with one error line instead of retrying forever.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from footfall.cli import app
from footfall.local_services import LocalService, free_port

pytestmark = pytest.mark.integration

FOOTFALL = Path(sys.executable).with_name("footfall")


def aggregator_yaml(path: Path, **sections: object) -> Path:
    path.write_text(yaml.safe_dump(sections))
    return path


def output_of(arguments: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, arguments)
    return result.exit_code, " ".join(result.output.split())


def test_aggregator_check_config_names_every_missing_file(tmp_path: Path) -> None:
    config = aggregator_yaml(
        tmp_path / "aggregator.yaml",
        mqtt={
            "username": "footfall-aggregator",
            "password_file": str(tmp_path / "missing-password.txt"),
        },
        api={
            "write_token_file": str(tmp_path / "missing-token.txt"),
            "mqtt": {"tls": {"ca_file": str(tmp_path / "missing-ca.crt")}},
        },
        spool_path=str(tmp_path / "a-file" / "spool"),
    )
    (tmp_path / "a-file").write_text("not a directory")
    code, output = output_of(["aggregator", "check-config", "-c", str(config)])
    assert code == 2
    assert f"mqtt -> password_file: cannot read {tmp_path}/missing-password.txt" in output
    assert f"api -> mqtt -> tls -> ca_file: {tmp_path}/missing-ca.crt is not a readable file" in (
        output
    )
    assert f"api -> write_token_file: {tmp_path}/missing-token.txt is not a readable file" in (
        output
    )
    assert f"spool_path: cannot create or write {tmp_path}/a-file/spool" in output


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("localhost:8086", "url 'localhost:8086' must start with http:// or https://"),
        ("http://:8086", "url 'http://:8086' names no host"),
        ("http://influx:port", "url 'http://influx:port' is not a URL"),
    ],
)
def test_a_malformed_influx_url_is_a_config_error(tmp_path: Path, url: str, message: str) -> None:
    config = aggregator_yaml(tmp_path / "aggregator.yaml", influx={"url": url})
    for command in ("check-config", "run"):
        code, output = output_of(["aggregator", command, "-c", str(config)])
        assert code == 2, output
        assert "influx" in output, output
        assert message in output, output


def test_check_config_connect_reports_what_the_services_answer(
    tmp_path: Path, mosquitto_server: LocalService, influx_server: LocalService
) -> None:
    influx = f"http://127.0.0.1:{influx_server.port}"
    good = aggregator_yaml(
        tmp_path / "good.yaml",
        mqtt={"port": mosquitto_server.port},
        influx={"url": influx, "database": "fail_fast"},
        spool_path=str(tmp_path / "spool"),
    )
    code, output = output_of(["aggregator", "check-config", "-c", str(good), "--connect"])
    assert code == 0, output
    assert "connected: broker login and InfluxDB answered" in output

    cases = [
        ({"url": f"{influx}/api/v9"}, "answered 404", "without a path?"),
        ({"url": f"https://127.0.0.1:{influx_server.port}"}, "TLS failed", "speak https"),
        ({"url": "http://no-such-host.invalid:8086"}, "unknown host", "no-such-host.invalid"),
        (
            {"url": influx, "database": "absent", "create_database": False},
            "'absent' does not exist",
            "",
        ),
    ]
    for settings, problem, detail in cases:
        bad = aggregator_yaml(
            tmp_path / "bad.yaml",
            mqtt={"port": mosquitto_server.port},
            influx=settings,
            spool_path=str(tmp_path / "spool"),
        )
        code, output = output_of(["aggregator", "check-config", "-c", str(bad), "--connect"])
        assert code == 2, output
        assert problem in output, output
        assert detail in output, output

    unreachable = aggregator_yaml(
        tmp_path / "unreachable.yaml",
        mqtt={"port": free_port()},
        influx={"url": influx},
        spool_path=str(tmp_path / "spool"),
    )
    code, output = output_of(["aggregator", "check-config", "-c", str(unreachable), "--connect"])
    assert code == 2
    assert "mqtt: cannot reach the broker at 127.0.0.1:" in output


@pytest.mark.parametrize(
    ("url_of", "expected"),
    [
        (lambda port: f"http://127.0.0.1:{port}/api/v9", "answered 404"),
        (lambda port: f"https://127.0.0.1:{port}", "TLS failed"),
    ],
)
def test_aggregator_run_stops_with_one_line_on_what_retrying_cannot_fix(
    tmp_path: Path,
    mosquitto_server: LocalService,
    influx_server: LocalService,
    url_of: object,
    expected: str,
) -> None:
    assert callable(url_of)
    config = aggregator_yaml(
        tmp_path / "aggregator.yaml",
        mqtt={"port": mosquitto_server.port},
        influx={"url": url_of(influx_server.port)},
        spool_path=str(tmp_path / "spool"),
    )
    started = time.monotonic()
    finished = subprocess.run(
        [str(FOOTFALL), "aggregator", "run", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 2, finished.stderr[-2000:]
    assert time.monotonic() - started < 30
    errors = [line for line in finished.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, finished.stderr[-2000:]
    assert expected in errors[0]
    assert "create database:" in errors[0]
    assert "Traceback" not in finished.stderr
    assert "retrying in" not in finished.stderr


def test_aggregator_run_stops_on_a_broker_login_that_can_never_work(
    tmp_path: Path, mosquitto_server: LocalService, influx_server: LocalService
) -> None:
    """An unknown broker host, or TLS against a plain listener: one line, exit 2. A broker
    that is merely down is waited for (the messages wait in it)."""
    influx = {"url": f"http://127.0.0.1:{influx_server.port}"}
    for mqtt_settings, expected in (
        ({"host": "no-such-broker.invalid"}, "mqtt -> host: unknown host 'no-such-broker.invalid'"),
        (
            {"port": mosquitto_server.port, "tls": {"insecure_skip_verify": True}},
            "mqtt -> tls: the TLS handshake with 127.0.0.1:",
        ),
    ):
        config = aggregator_yaml(
            tmp_path / "aggregator.yaml",
            mqtt=mqtt_settings,
            influx=influx,
            spool_path=str(tmp_path / "spool"),
        )
        finished = subprocess.run(
            [str(FOOTFALL), "aggregator", "run", "-c", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert finished.returncode == 2, finished.stderr[-2000:]
        (error,) = [line for line in finished.stderr.splitlines() if line.startswith("error:")]
        assert expected in error


def edge_yaml(path: Path, **overrides: object) -> Path:
    document: dict[str, object] = {
        "store_id": "shop-1",
        "cameras": [
            {"id": "door", "source": {"uri": str(path.parent / "missing.mp4")}},
            {"id": "stream", "source": {"uri": "rtsp://no-such-camera.invalid/stream1"}},
        ],
        "mqtt": {
            "username": "store-shop-1",
            "password_file": str(path.parent / "missing-password.txt"),
        },
        "outbox": {"path": str(path.parent / "a-file" / "outbox.sqlite3")},
    }
    document.update(overrides)
    path.write_text(yaml.safe_dump(document))
    return path


def test_edge_check_config_names_every_missing_file(tmp_path: Path) -> None:
    config = edge_yaml(tmp_path / "edge.yaml")
    (tmp_path / "a-file").write_text("not a directory")
    code, output = output_of(["edge", "check-config", "-c", str(config)])
    assert code == 2, output
    assert f"cameras -> 0 (door) -> source -> uri: {tmp_path}/missing.mp4 does not exist" in output
    assert f"mqtt -> password_file: cannot read {tmp_path}/missing-password.txt" in output
    assert f"outbox -> path: cannot create {tmp_path}/a-file/outbox.sqlite3" in output
    assert "no-such-camera" not in output  # streams are only checked with --connect


def test_edge_check_config_connect_reaches_broker_and_streams(
    tmp_path: Path, mosquitto_server: LocalService, footage: Path
) -> None:
    video = {"id": "door", "source": {"uri": str(footage / "vtest.avi")}}
    stream = {"id": "stream", "source": {"uri": "rtsp://no-such-camera.invalid/stream1"}}
    outbox = {"path": str(tmp_path / "outbox.sqlite3")}
    good = edge_yaml(
        tmp_path / "good.yaml",
        cameras=[video],
        mqtt={"port": mosquitto_server.port},
        outbox=outbox,
    )
    code, output = output_of(["edge", "check-config", "-c", str(good), "--connect"])
    assert code == 0, output
    bad = edge_yaml(
        tmp_path / "bad.yaml", cameras=[video, stream], mqtt={"port": free_port()}, outbox=outbox
    )
    code, output = output_of(["edge", "check-config", "-c", str(bad), "--connect"])
    assert code != 0
    assert "cameras -> 1 (stream) -> source -> uri: unknown host 'no-such-camera.invalid'" in (
        output
    )
    assert "mqtt: cannot reach the broker at 127.0.0.1:" in output

"""Issue 9, finding 7: the central host without Docker, as the README's "Central host without
Docker" section does it, as far as this machine allows (no systemd): ``footfall deploy
credentials --owner mosquitto``, Debian's Mosquitto layout (``user mosquitto``, a conf.d
file: ``deploy/mosquitto/footfall-debian.conf``), the broker started as root so that it drops
to ``mosquitto`` before it reads the password file, then every login as the README uses it
and ``aggregator check-config --connect``. Without ``--owner`` the broker cannot read the
root-owned files, which is the trap this step removes."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion
from typer.testing import CliRunner

from footfall.cli import app
from footfall.local_services import LocalService, ServiceError, free_port

pytestmark = pytest.mark.integration

SNIPPET = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "footfall-debian.conf"


def _mosquitto_user() -> pwd.struct_passwd:
    if os.geteuid() != 0:
        pytest.skip("Mosquitto drops to its own user only when started as root")
    try:
        return pwd.getpwnam("mosquitto")
    except KeyError:
        pytest.skip("no 'mosquitto' user (Debian's mosquitto package creates it)")


@pytest.fixture
def host() -> Iterator[Path]:
    """A stand-in for ``/``: ``etc/footfall``, ``etc/mosquitto``, ``var/lib/mosquitto``."""
    root = Path(tempfile.mkdtemp(prefix="footfall-host-"))
    root.chmod(0o755)  # like /, so the broker's user can walk to /etc/footfall/secrets
    yield root
    shutil.rmtree(root, ignore_errors=True)


def credentials(host: Path, *options: str) -> Path:
    secrets = host / "etc" / "footfall" / "secrets"
    result = CliRunner().invoke(
        app,
        ["deploy", "credentials", "--store", "shop-1", "--output", str(secrets), *options],
    )
    assert result.exit_code == 0, result.output
    return secrets


def debian_broker(host: Path, secrets: Path, mosquitto_user: pwd.struct_passwd) -> LocalService:
    """Debian's mosquitto.conf (persistence, include_dir) with the shipped conf.d snippet,
    only its paths and port moved into ``host``."""
    port = free_port()
    conf_d = host / "etc" / "mosquitto" / "conf.d"
    conf_d.mkdir(parents=True)
    data = host / "var" / "lib" / "mosquitto"
    data.mkdir(parents=True)
    os.chown(data, mosquitto_user.pw_uid, mosquitto_user.pw_gid)
    snippet = SNIPPET.read_text()
    for shipped, moved in (
        ("/etc/footfall/secrets", str(secrets)),
        ("listener 1883", f"listener {port} 127.0.0.1"),
    ):
        assert shipped in snippet
        snippet = snippet.replace(shipped, moved)
    (conf_d / "footfall.conf").write_text(snippet)
    main = host / "etc" / "mosquitto" / "mosquitto.conf"
    main.write_text(
        f"user mosquitto\npersistence true\npersistence_location {data}/\ninclude_dir {conf_d}\n"
    )
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    return LocalService("mosquitto", [binary, "-c", str(main)], host, port)


def login(port: int, user: str, password: str) -> str:
    """The broker's CONNACK reason for ``user``, as text."""
    answered = threading.Event()
    reasons: list[str] = []

    def on_connect(client: mqtt.Client, userdata: Any, flags: Any, code: Any, props: Any) -> None:
        reasons.append(str(code))
        answered.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set(user, password)
    client.on_connect = on_connect
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        assert answered.wait(5), f"no CONNACK for {user}"
    finally:
        client.disconnect()
        client.loop_stop()
    return reasons[0]


def test_owner_mosquitto_lets_debians_broker_read_its_logins(
    host: Path, influx_server: LocalService, tmp_path: Path
) -> None:
    mosquitto_user = _mosquitto_user()
    secrets = credentials(host, "--owner", "mosquitto")
    for path in [secrets / "mosquitto", *(secrets / "mosquitto").iterdir()]:
        status = path.stat()
        assert (status.st_uid, status.st_gid) == (mosquitto_user.pw_uid, mosquitto_user.pw_gid)
        assert stat.S_IMODE(status.st_mode) & 0o077 == 0, path  # still owner-only
    assert (secrets / "passwords").stat().st_uid == 0  # the services' copies stay root's

    broker = debian_broker(host, secrets, mosquitto_user)
    broker.start()
    try:
        password = {
            path.stem: path.read_text().strip() for path in (secrets / "passwords").glob("*.txt")
        }
        for user in ("footfall-aggregator", "footfall-api", "footfall-operator", "store-shop-1"):
            assert login(broker.port, user, password[user]) == "Success", user
        assert login(broker.port, "store-shop-1", "wrong") == "Not authorized"

        config = tmp_path / "aggregator.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "mqtt": {
                        "port": broker.port,
                        "username": "footfall-aggregator",
                        "password_file": str(secrets / "passwords" / "footfall-aggregator.txt"),
                    },
                    "influx": {"url": f"http://127.0.0.1:{influx_server.port}"},
                    "stores": [{"id": "shop-1"}],
                    "spool_path": str(tmp_path / "spool"),
                }
            )
        )
        checked = CliRunner().invoke(
            app, ["aggregator", "check-config", "-c", str(config), "--connect"]
        )
        assert checked.exit_code == 0, checked.output
    finally:
        broker.stop()


def test_without_owner_the_broker_cannot_read_its_password_file(host: Path) -> None:
    mosquitto_user = _mosquitto_user()
    secrets = credentials(host)  # root-owned, 0600: the trap of finding 7
    broker = debian_broker(host, secrets, mosquitto_user)
    with pytest.raises(ServiceError, match="exited"):
        broker.start()
    assert "passwd" in broker.log_path.read_text()
    broker.stop()


def test_owner_must_exist(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["deploy", "credentials", "--store", "s", "-o", str(tmp_path), "--owner", "nobody-here"],
    )
    assert result.exit_code == 2
    assert "--owner nobody-here: no such user on this host" in " ".join(result.output.split())

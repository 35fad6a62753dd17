"""Connection settings against real Mosquitto brokers: password and password file, a bad
password, an ACL that refuses the counts topic, TLS with the right and the wrong CA, and
settings that cannot work. Errors are states, never crashes; the data stays in the outbox."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from edge.config import MqttConfig
from edge.transport.outbox import Outbox
from edge.transport.publisher import MqttPublisher
from footfall.local_services import LocalService, mosquitto
from protocol.mqtt_client import MqttConfigError
from protocol.settings import TlsConfig
from tests.edge.mqtt_support import (
    CAMERA,
    KEEP_PRIVILEGES,
    STORE,
    Collector,
    PublisherFactory,
    wait_for_error,
)
from tests.edge.test_outbox import make_interval


@pytest.fixture
def secured_broker(tmp_path: Path) -> Iterator[LocalService]:
    """Password login, and an ACL that lets ``edge`` write only to its own camera."""
    directory = tmp_path / "secured"
    directory.mkdir()
    passwords = directory / "passwords"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwords), "edge", "secret"], check=True)
    subprocess.run(["mosquitto_passwd", "-b", str(passwords), "reader", "reader"], check=True)
    acl = directory / "acl"
    acl.write_text(
        f"user edge\ntopic write footfall/v1/{STORE}/{CAMERA}/#\n"
        "user reader\ntopic read footfall/v1/#\n"
    )
    broker = mosquitto(
        directory,
        extra_config=(
            f"allow_anonymous false\npassword_file {passwords}\nacl_file {acl}\n{KEEP_PRIVILEGES}"
        ),
    )
    broker.start()
    yield broker
    broker.stop()


def test_bad_password_is_an_error_state_and_the_data_stays(
    secured_broker: LocalService, make_publisher: PublisherFactory
) -> None:
    publisher = make_publisher(
        secured_broker.port, config={"username": "edge", "password": SecretStr("wrong")}
    )
    for index in range(3):
        publisher.submit_interval(make_interval(index))
    error = wait_for_error(publisher, "refused the connection")
    assert f"MQTT broker 127.0.0.1:{secured_broker.port}" in error
    assert "Bad user name or password" in error or "Not authorized" in error
    assert not publisher.flush(0.5)
    assert publisher.status().outbox_depth == 3


def test_password_file_login_delivers(
    tmp_path: Path, secured_broker: LocalService, make_publisher: PublisherFactory
) -> None:
    password_file = tmp_path / "mqtt-password"
    password_file.write_text("secret\n")
    collector = Collector(secured_broker.port, login=("reader", "reader"))
    publisher = make_publisher(
        secured_broker.port, config={"username": "edge", "password_file": password_file}
    )
    publisher.submit_interval(make_interval(0, entries=7))
    assert publisher.flush(5), publisher.status()
    assert collector.wait_until(lambda: len(collector.counts()) == 1, 5)
    assert collector.counts()[0].lines["entrance"].entries == 7
    collector.close()


def test_message_refused_by_the_acl_stays_in_the_outbox(
    secured_broker: LocalService, make_publisher: PublisherFactory
) -> None:
    publisher = make_publisher(
        secured_broker.port,
        config={"username": "edge", "password": SecretStr("secret"), "topic_root": "elsewhere/v1"},
    )
    publisher.submit_interval(make_interval(0))
    error = wait_for_error(publisher, "did not deliver 1 count message(s)")
    assert "elsewhere/v1/store-1/door/counts" in error
    assert "sequence 0" in error
    assert publisher.status().outbox_depth == 1


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throw-away CA and a server certificate for 127.0.0.1 (openssl CLI)."""
    directory = tmp_path_factory.mktemp("tls")

    def openssl(*arguments: str) -> None:
        subprocess.run(["openssl", *arguments], cwd=directory, check=True, capture_output=True)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=footfall test CA",
    )
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    )
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    )
    return directory


def test_tls_from_configuration_only(
    tmp_path: Path, certificates: Path, make_publisher: PublisherFactory
) -> None:
    broker = mosquitto(
        tmp_path / "tls-broker",
        extra_config=(
            f"allow_anonymous true\ncertfile {certificates / 'server.crt'}\n"
            f"keyfile {certificates / 'server.key'}\n{KEEP_PRIVILEGES}"
        ),
    )
    broker.start()
    trusted = make_publisher(
        broker.port, config={"tls": TlsConfig(ca_file=certificates / "ca.crt")}
    )
    trusted.submit_interval(make_interval(0))
    # Nobody subscribes on this broker: a PUBACK saying so proves the TLS session works.
    assert "No matching subscribers" in wait_for_error(trusted, "did not deliver")
    assert trusted.status().connected
    untrusted = make_publisher(broker.port, config={"tls": TlsConfig()})  # system CAs only
    untrusted.submit_interval(make_interval(0))
    assert "cannot reach the MQTT broker" in wait_for_error(untrusted, "cannot reach")
    assert untrusted.status().outbox_depth == 1
    trusted.stop(1)
    untrusted.stop(0.1)
    broker.stop()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"username": "edge", "password": SecretStr("a"), "password_file": Path("/nonexistent")},
            "mqtt -> password and mqtt -> password_file are both set",
        ),
        (
            {"username": "edge", "password_file": Path("/nonexistent/pw")},
            "cannot read /nonexistent/pw",
        ),
        ({"password": SecretStr("a")}, "mqtt -> password is set but mqtt -> username is not"),
        ({"tls": TlsConfig(ca_file=Path("/nonexistent/ca.crt"))}, "ca_file: /nonexistent/ca.crt"),
        (
            {"tls": TlsConfig(certificate_file=Path(__file__))},
            "certificate_file and key_file must be set together",
        ),
    ],
)
def test_unusable_mqtt_settings_name_the_key(
    tmp_path: Path, options: dict[str, object], message: str
) -> None:
    with pytest.raises(MqttConfigError, match=message):
        MqttPublisher(
            MqttConfig.model_validate(options),
            STORE,
            CAMERA,
            Outbox(tmp_path / "o.sqlite3", 1 << 20),
            software_version="0.1.0",
        )

"""``footfall deploy credentials``: files, modes, idempotency and refusals. The broker-level
proof (the files work in a real Mosquitto) is tests/integration/test_broker_security.py."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from footfall.cli import app
from footfall.deploy.credentials import (
    PBKDF2_ITERATIONS,
    CredentialsError,
    hash_password,
    render_acl,
    write_credentials,
)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
HASHED_LINE = rf"[a-z0-9-]+:\$7\${PBKDF2_ITERATIONS}\$[A-Za-z0-9+/=]{{16}}\$[A-Za-z0-9+/=]{{88}}"


def passwords(output: Path) -> dict[str, str]:
    return {path.stem: path.read_text() for path in (output / "passwords").glob("*.txt")}


def test_writes_one_login_per_store_plus_aggregator_api_and_operator(tmp_path: Path) -> None:
    report = write_credentials(tmp_path, ["shop-1", "shop-2"])
    assert report.users == [
        "footfall-aggregator",
        "footfall-api",
        "footfall-operator",
        "store-shop-1",
        "store-shop-2",
    ]
    assert report.created == [*report.users, "api-write-token"]
    lines = (tmp_path / "mosquitto" / "passwd").read_text().splitlines()
    assert [line.split(":", 1)[0] for line in lines] == report.users
    for line in lines:
        assert re.fullmatch(
            rf"[a-z0-9-]+:\$7\${PBKDF2_ITERATIONS}\$[A-Za-z0-9+/=]{{16}}\$[A-Za-z0-9+/=]{{88}}",
            line,
        )
    for path in [*tmp_path.rglob("*")]:
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    secrets = passwords(tmp_path)
    assert sorted(secrets) == sorted([*report.users, "api-write-token"])
    assert all(len(secret.strip()) == 32 for secret in secrets.values())
    assert "api-write-token" not in (tmp_path / "mosquitto" / "passwd").read_text()


def test_hash_is_pbkdf2_sha512_of_the_password_as_mosquitto_reads_it() -> None:
    salt = bytes(range(12))
    _, kind, iterations, encoded_salt, encoded_digest = hash_password("s3cret", salt).split("$")
    assert (kind, int(iterations), base64.b64decode(encoded_salt)) == ("7", PBKDF2_ITERATIONS, salt)
    expected = hashlib.pbkdf2_hmac("sha512", b"s3cret", salt, PBKDF2_ITERATIONS)
    assert base64.b64decode(encoded_digest) == expected


def test_rerun_keeps_passwords_and_rotation_changes_only_one(tmp_path: Path) -> None:
    write_credentials(tmp_path, ["shop-1"])
    first = passwords(tmp_path)
    again = write_credentials(tmp_path, ["shop-1", "shop-2"])
    assert again.created == ["store-shop-2"]
    second = passwords(tmp_path)
    assert {user: second[user] for user in first} == first
    rotated = write_credentials(tmp_path, ["shop-1", "shop-2"], rotate=["store-shop-1"])
    assert rotated.created == ["store-shop-1"]
    third = passwords(tmp_path)
    assert third["store-shop-1"] != second["store-shop-1"]
    assert third["store-shop-2"] == second["store-shop-2"]
    dropped = write_credentials(tmp_path, ["shop-2"])
    assert dropped.stale_password_files == [tmp_path / "passwords" / "store-shop-1.txt"]
    assert "store-shop-1" not in (tmp_path / "mosquitto" / "passwd").read_text()


def test_acl_grants_each_role_only_its_topics() -> None:
    acl = render_acl(["shop-1"], "retail/v1")
    blocks = {
        block.splitlines()[0]: [line for line in block.splitlines()[1:] if line.startswith("topic")]
        for block in acl.split("\nuser ")[1:]
    }
    assert blocks == {
        "footfall-aggregator": [
            "topic read retail/v1/+/+/counts",
            "topic read retail/v1/+/+/health",
            "topic read retail/v1/+/+/status",
            "topic read retail/v1/+/+/live",
            "topic readwrite retail/v1/+/occupancy",
            "topic write retail/v1/dead-letter",
            "topic readwrite retail/v1/aggregator/#",
            "topic readwrite retail/v1/alerts/#",
        ],
        "footfall-api": [
            "topic read retail/v1/+/occupancy",
            "topic read retail/v1/+/+/health",
            "topic read retail/v1/+/+/status",
            "topic read retail/v1/aggregator/status/+",
            "topic read retail/v1/alerts/#",
        ],
        "footfall-operator": ["topic read retail/v1/#"],
        "store-shop-1": [
            "topic write retail/v1/shop-1/+/counts",
            "topic write retail/v1/shop-1/+/health",
            "topic write retail/v1/shop-1/+/status",
            "topic write retail/v1/shop-1/+/live",
        ],
    }
    assert "pattern" not in acl
    granted_everything = ("retail/v1/aggregator/#", "retail/v1/alerts/#", "retail/v1/#")
    unexplained = acl.replace("# ", "")
    for pattern in granted_everything:
        unexplained = unexplained.replace(pattern, "")
    assert "#" not in unexplained


@pytest.mark.parametrize(
    ("stores", "topic_root", "rotate", "message"),
    [
        (["my shop"], "footfall/v1", [], "store id 'my shop' cannot be an MQTT login"),
        (["a:b"], "footfall/v1", [], "store id 'a:b' cannot be an MQTT login"),
        (["shop-1", "shop-1"], "footfall/v1", [], "store id 'shop-1' is listed twice"),
        ([], "footfall/v1", [], "no stores given"),
        (["shop-1"], "footfall/#", [], "must be a topic without wildcards"),
        (["shop-1"], "footfall/v1", ["store-shop-9"], "cannot rotate unknown user(s) store-shop-9"),
    ],
)
def test_refuses_what_mosquitto_files_cannot_express(
    tmp_path: Path, stores: list[str], topic_root: str, rotate: list[str], message: str
) -> None:
    with pytest.raises(CredentialsError, match=re.escape(message)):
        write_credentials(tmp_path, stores, topic_root, rotate)


def test_cli_reads_the_store_registry_and_topic_root(tmp_path: Path) -> None:
    config = tmp_path / "aggregator.yaml"
    config.write_text(
        "mqtt: {topic_root: chain/v1}\nstores:\n  - {id: north}\n  - {id: south, capacity: 9}\n"
    )
    output = tmp_path / "secrets"
    result = CliRunner().invoke(
        app,
        ["deploy", "credentials", "--config", str(config), "--store", "kiosk", "-o", str(output)],
    )
    assert result.exit_code == 0, result.output
    acl = (output / "mosquitto" / "acl").read_text()
    for store in ("north", "south", "kiosk"):
        assert f"user store-{store}\ntopic write chain/v1/{store}/+/counts" in acl
    bad = CliRunner().invoke(app, ["deploy", "credentials", "--store", "a b", "-o", str(output)])
    assert bad.exit_code == 2
    assert "cannot be an MQTT login" in bad.output


@pytest.mark.skipif(os.geteuid() != 0, reason="changing file owners needs root")
def test_docker_flag_hands_files_to_the_image_users(tmp_path: Path) -> None:
    output = tmp_path / "secrets"
    result = CliRunner().invoke(
        app, ["deploy", "credentials", "-s", "s1", "-o", str(output), "--docker"]
    )
    assert result.exit_code == 0, result.output
    assert {path.stat().st_uid for path in (output / "mosquitto").iterdir()} == {1883}
    assert {path.stat().st_uid for path in (output / "passwords").iterdir()} == {10001}


def test_shell_script_uses_the_shipped_config(tmp_path: Path) -> None:
    """deploy/scripts/create-store-credentials on a copy of deploy/ (secrets land beside it)."""
    shutil.copytree(DEPLOY, tmp_path / "deploy", ignore=shutil.ignore_patterns("secrets"))
    footfall = shutil.which("footfall") or str(Path(sys.executable).parent / "footfall")
    result = subprocess.run(
        [str(tmp_path / "deploy" / "scripts" / "create-store-credentials"), "--store", "kiosk"],
        capture_output=True,
        text=True,
        env={**os.environ, "FOOTFALL": footfall},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    acl = (tmp_path / "deploy" / "secrets" / "mosquitto" / "acl").read_text()
    assert "user store-shop-1\n" in acl  # from deploy/config/aggregator.yaml
    assert "user store-kiosk\n" in acl

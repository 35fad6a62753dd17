"""deploy/compose.yaml without a Docker engine (none runs here): Debian's docker-compose 1.29
validates it against the Compose schema (``config``), and the tests check that the files it
mounts exist and agree with each other: configs, secrets, Grafana provisioning, Dockerfile
stages, Mosquitto's auth paths."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from aggregator.config import load_aggregator_config
from edge.config import load_config
from footfall.deploy.credentials import render_acl, store_user, write_credentials

REPOSITORY = Path(__file__).resolve().parents[2]
DEPLOY = REPOSITORY / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
SERVICES = {"mosquitto", "influxdb", "grafana", "aggregator", "api", "edge-shop-1"}


def compose_config(extra_environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose not installed (Debian package docker-compose; make setup)")
    environment = {
        key: value for key, value in os.environ.items() if key != "GRAFANA_ADMIN_PASSWORD"
    }
    environment.update(extra_environment)
    return subprocess.run(
        [binary, "-f", str(COMPOSE), "config"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    result = compose_config({"GRAFANA_ADMIN_PASSWORD": "test-password"})
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = yaml.safe_load(result.stdout)
    return document


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> host path of the bind mounts (named volumes excluded)."""
    found = {}
    for volume in service.get("volumes", []):
        host, container = volume.split(":")[:2]
        if host.startswith("/"):
            found[container] = host
    return found


def test_compose_is_valid_and_has_the_full_stack(resolved: dict[str, Any]) -> None:
    assert set(resolved["services"]) == SERVICES
    published = {
        name: {port["target"] for port in service.get("ports", [])}
        for name, service in resolved["services"].items()
    }
    assert published == {
        "mosquitto": {1883},
        "influxdb": set(),
        "grafana": {3000},
        "aggregator": set(),
        "api": {8080},
        "edge-shop-1": set(),
    }


def test_missing_grafana_password_is_a_clear_error() -> None:
    result = compose_config({})
    assert result.returncode != 0
    assert "set GRAFANA_ADMIN_PASSWORD in deploy/.env" in result.stderr


def test_every_bind_mount_exists_except_secrets_and_video(resolved: dict[str, Any]) -> None:
    optional = (str(DEPLOY / "secrets"), "/usr/share/doc/opencv-doc")
    for name, service in resolved["services"].items():
        for container, host in mounts(service).items():
            if not host.startswith(optional):
                assert Path(host).exists(), f"{name}: {host} (for {container}) does not exist"


def test_grafana_mounts_match_the_provisioning_files(resolved: dict[str, Any]) -> None:
    grafana = mounts(resolved["services"]["grafana"])
    provider_file = REPOSITORY / "dashboards" / "provisioning" / "dashboards" / "footfall.yaml"
    (provider,) = yaml.safe_load(provider_file.read_text())["providers"]
    dashboards_path = provider["options"]["path"]
    assert Path(grafana[dashboards_path]) == REPOSITORY / "dashboards" / "generated"
    assert list(Path(grafana[dashboards_path]).glob("*.json")), "no generated dashboards"
    datasource = REPOSITORY / "dashboards" / "provisioning" / "datasources"
    assert Path(grafana["/etc/grafana/provisioning/datasources"]) == datasource
    (source,) = yaml.safe_load((datasource / "footfall.yaml").read_text())["datasources"]
    assert source["url"] == "http://influxdb:8086"
    alerting = REPOSITORY / "dashboards" / "provisioning" / "alerting"
    assert Path(grafana["/etc/grafana/provisioning/alerting"]) == alerting
    assert (alerting / "footfall-alerts.yaml").is_file()


def test_configs_are_valid_and_their_secrets_are_mounted(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    aggregator = load_aggregator_config(DEPLOY / "config" / "aggregator.yaml")
    edge = load_config(DEPLOY / "config" / "edge.yaml")
    assert aggregator.api.mqtt is not None
    assert edge.mqtt is not None
    needed = {
        "aggregator": [aggregator.mqtt.password_file],
        "api": [aggregator.api.mqtt.password_file, aggregator.api.write_token_file],
        "edge-shop-1": [edge.mqtt.password_file],
    }
    for name, files in needed.items():
        mounted = {f"/run/secrets/{secret['source']}" for secret in services[name]["secrets"]}
        assert {str(path) for path in files} <= mounted, name
    assert mounts(services["aggregator"])["/etc/footfall/aggregator.yaml"]
    assert edge.store_id in [store.id for store in aggregator.stores]
    assert edge.mqtt.username == store_user(edge.store_id)
    assert aggregator.api.mqtt.username == "footfall-api"
    assert aggregator.mqtt.username == "footfall-aggregator"


def test_secret_files_are_what_the_credentials_command_writes(
    resolved: dict[str, Any], tmp_path: Path
) -> None:
    aggregator = load_aggregator_config(DEPLOY / "config" / "aggregator.yaml")
    write_credentials(tmp_path, [store.id for store in aggregator.stores])
    for name, secret in resolved["secrets"].items():
        relative = Path(secret["file"]).relative_to(DEPLOY / "secrets")
        assert (tmp_path / relative).exists(), f"secret {name}: nothing writes {relative}"
    mosquitto_config = (DEPLOY / "mosquitto" / "mosquitto.conf").read_text()
    auth_mount = {
        container: Path(host)
        for container, host in mounts(resolved["services"]["mosquitto"]).items()
    }
    for directive in ("password_file", "acl_file"):
        (path,) = re.findall(rf"^{directive} (\S+)$", mosquitto_config, flags=re.MULTILINE)
        container_directory, file_name = path.rsplit("/", 1)
        host_directory = auth_mount[container_directory]
        assert host_directory == DEPLOY / "secrets" / "mosquitto"
        assert (tmp_path / "mosquitto" / file_name).exists(), directive
    assert "topic read footfall/v1/+/+/counts" in render_acl(["shop-1"], aggregator.mqtt.topic_root)


def test_dockerfile_has_the_stages_compose_builds(resolved: dict[str, Any]) -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    stages = set(re.findall(r"^FROM \S+ AS (\S+)$", dockerfile, flags=re.MULTILINE))
    targets = {
        service["build"]["target"]
        for service in resolved["services"].values()
        if "build" in service
    }
    assert targets == {"aggregator", "edge-lite"}
    assert targets <= stages
    for source in re.findall(r"^COPY (?!--from)(\S+)", dockerfile, flags=re.MULTILINE):
        assert (REPOSITORY / source).exists(), f"COPY {source}: not in the repository"
    assert "torch" not in re.split(r"^FROM .* AS edge-lite$", dockerfile, flags=re.MULTILINE)[1]

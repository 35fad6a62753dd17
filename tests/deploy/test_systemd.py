"""deploy/systemd: ``systemd-analyze verify`` accepts the units (only the install path of the
``footfall`` binary is adapted), and the hardening the README promises is there."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SYSTEMD = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
UNITS = ["footfall-edge.service", "footfall-aggregator.service", "footfall-api.service"]
INSTALLED_BINARY = "/opt/footfall/venv/bin/footfall"


def settings(unit: str) -> dict[str, list[str]]:
    """Every ``Key=value`` of a unit file (keys may repeat, e.g. LoadCredential)."""
    found: dict[str, list[str]] = {}
    for line in (SYSTEMD / unit).read_text().splitlines():
        match = re.match(r"^([A-Za-z][A-Za-z0-9_]*)=(.*)$", line)
        if match:
            found.setdefault(match[1], []).append(match[2])
    return found


def test_systemd_analyze_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed")
    footfall = shutil.which("footfall") or str(Path(sys.executable).parent / "footfall")
    for unit in UNITS:
        text = (SYSTEMD / unit).read_text()
        assert INSTALLED_BINARY in text
        (tmp_path / unit).write_text(text.replace(INSTALLED_BINARY, footfall))
    result = subprocess.run(
        [analyze, "verify", "--man=no", *(str(tmp_path / unit) for unit in UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    complaints = [
        line for line in (result.stdout + result.stderr).splitlines() if str(tmp_path) in line
    ]
    assert complaints == []


@pytest.mark.parametrize("unit", UNITS)
def test_units_are_hardened_and_restart(unit: str) -> None:
    found = settings(unit)
    for key, value in {
        "DynamicUser": "yes",
        "Restart": "always",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "CapabilityBoundingSet": "",
    }.items():
        assert found.get(key) == [value], f"{unit}: {key}"
    assert "WatchdogSec" not in found  # the workers do not send sd_notify keep-alives
    assert all(
        credential.startswith("mqtt-password:") or "token" in credential
        for credential in found["LoadCredential"]
    )


def test_edge_unit_keeps_its_outbox_and_reads_its_env_file() -> None:
    found = settings("footfall-edge.service")
    assert found["StateDirectory"] == ["footfall-edge"]
    environment = settings("footfall-edge.env")
    used = set(re.findall(r"\$\{(\w+)\}", " ".join(found["ExecStart"] + found["ExecStartPre"])))
    assert used <= set(environment)
    assert found["EnvironmentFile"] == ["/etc/footfall/footfall-edge.env"]

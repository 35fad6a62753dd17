"""The ``alerts`` config section: unknown keys and contradictions are refused with their key
path, and check-config names a missing webhook secret file."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.config import load_aggregator_config
from aggregator.preflight import file_problems
from protocol.settings import ConfigError


def write(tmp_path: Path, alerts: str) -> Path:
    path = tmp_path / "aggregator.yaml"
    path.write_text(f"spool_path: {tmp_path / 'spool'}\nalerts:\n{alerts}")
    return path


@pytest.mark.parametrize(
    ("alerts", "message"),
    [
        ("  capacity_margin: 2\n", "alerts -> capacity_margin"),
        ("  visits_low: {history_weeks: 4, minimum_history_weeks: 5}\n", "minimum_history_weeks"),
        ("  webhook: {url: 'ftp://x'}\n", r"alerts -> webhook -> url: .*must be http\(s\)://host"),
        ("  webhook: {url: 'http://x', secret: a, secret_file: /b}\n", "not both"),
        (
            "  webhook: {url: 'http://x', secret_header: 'X Bad'}\n",
            "alerts -> webhook -> secret_header",
        ),
    ],
)
def test_bad_alerts_section(tmp_path: Path, alerts: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_aggregator_config(write(tmp_path, alerts))


def test_defaults_and_missing_secret_file(tmp_path: Path) -> None:
    config = load_aggregator_config(
        write(
            tmp_path, f"  webhook: {{url: 'https://hooks.example/x', secret_file: {tmp_path}/no}}\n"
        )
    )
    assert config.alerts is not None
    assert (config.alerts.capacity_clear_margin, config.alerts.visits_low.history_weeks) == (2, 4)
    assert file_problems(config) == [
        f"alerts -> webhook -> secret_file: {tmp_path}/no is not a readable file"
    ]

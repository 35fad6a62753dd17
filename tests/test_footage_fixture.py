"""The footage fixture: skip without ``../shared`` on a developer's machine, fail in CI."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.conftest import require_footage


def outcome(directory: Path, environment: Mapping[str, str]) -> BaseException | Path:
    """What ``require_footage`` ends in: its value, or the skip/fail it raised (caught here,
    so that a skip cannot pass for a skipped test)."""
    try:
        return require_footage(directory, environment)
    except BaseException as raised:  # pytest's skip and fail are BaseExceptions
        return raised


def test_missing_footage_fails_in_ci(tmp_path: Path) -> None:
    result = outcome(tmp_path, {"CI": "true"})
    assert isinstance(result, pytest.fail.Exception), result
    assert "CI=true" in str(result)


def test_missing_footage_skips_elsewhere(tmp_path: Path) -> None:
    result = outcome(tmp_path, {})
    assert isinstance(result, pytest.skip.Exception), result
    assert "footage not found" in str(result)


def test_present_footage_is_returned(tmp_path: Path) -> None:
    (tmp_path / "vtest.avi").write_bytes(b"clip")
    assert outcome(tmp_path, {"CI": "true"}) == tmp_path

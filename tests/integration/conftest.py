from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.pets import PetsRun, run_pets


@pytest.fixture(scope="session")
def pets_run(footage: Path) -> PetsRun:
    return run_pets(footage)

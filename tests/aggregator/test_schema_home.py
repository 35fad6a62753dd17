"""aggregator.storage alone builds InfluxDB points and spells measurement names: every other
product module takes them from it (issue 16). Checked on the source, so a new module that
builds its own ``Point`` or writes ``"line_counts"`` fails here instead of in a review."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from aggregator.storage import measurements

ROOT = Path(__file__).resolve().parents[2]
PRODUCT_PACKAGES = ("aggregator", "dashboards", "footfall")
STORAGE = ROOT / "aggregator" / "storage"
MEASUREMENTS = frozenset(measurements.MEASUREMENTS)


def _modules_outside_storage() -> list[Path]:
    return sorted(
        path
        for package in PRODUCT_PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if STORAGE not in path.parents
    )


def _string_literals(tree: ast.Module) -> set[str]:
    """String constants of the module, without docstrings (they may name a measurement)."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    }


@pytest.mark.parametrize(
    "path", _modules_outside_storage(), ids=lambda path: str(path.relative_to(ROOT))
)
def test_no_module_outside_storage_builds_points_or_spells_a_measurement(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    builds = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id == "Point")
            or (isinstance(node.func, ast.Attribute) and node.func.attr == "Point")
        )
    ]
    assert builds == [], f"Point built at lines {builds}: use aggregator.storage.points"
    spelled = sorted(_string_literals(tree) & MEASUREMENTS)
    assert spelled == [], f"measurement names {spelled}: use aggregator.storage.measurements"

"""The structure the architecture promises (docs/architecture.md): small modules, the topic
root spelled once, and the contract package free of the project. Import direction itself is
checked by import-linter (``lint-imports`` in ``make test``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT_PACKAGES = ("protocol", "command_line", "footfall", "edge", "aggregator", "dashboards")
MAXIMUM_MODULE_LINES = 400
PRODUCT_MODULES = sorted(
    path for package in PRODUCT_PACKAGES for path in (ROOT / package).rglob("*.py")
)


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_packages_are_found() -> None:
    assert len(PRODUCT_MODULES) > 100


@pytest.mark.parametrize("path", PRODUCT_MODULES, ids=_name)
def test_modules_stay_under_400_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAXIMUM_MODULE_LINES, f"{_name(path)} has {lines} lines: split it"


def test_the_topic_root_is_spelled_in_one_module() -> None:
    spelled = [
        _name(path)
        for path in PRODUCT_MODULES
        if any(
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.startswith("footfall/v1")
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        )
    ]
    assert spelled == ["protocol/topics.py"]


def test_no_module_outside_protocol_composes_a_topic_from_the_root() -> None:
    """Topics are built by protocol.topics; an f-string that appends levels to a topic root
    elsewhere is a second topic scheme."""
    offenders = []
    for path in PRODUCT_MODULES:
        if _name(path).startswith("protocol/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr):
                text = ast.unparse(node)
                if "topic_root}/" in text or "_root}/" in text:
                    offenders.append(f"{_name(path)}:{node.lineno}")
    assert offenders == []

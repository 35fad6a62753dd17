"""Set a few keys of an edge YAML config in place, keeping everything else as written.

Only the calibrated keys are touched: a value is replaced where it stands (block or flow
style), a missing key is added to its section, a missing section at the end of the file.
Comments, order, quoting and every other key stay as they were. The result is read back and
must equal the old file with exactly those keys changed, and must validate, before it
replaces the file: first a backup (``edge.yaml.bak``), then the new text written to a
temporary file beside it and moved over the old one (atomic on POSIX), so a crash leaves the
old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any

import yaml

from edge.calibration.settings import ConfigKey
from edge.config import parse_config
from protocol.settings import ConfigError


def _scalar(value: Any) -> str:
    """A YAML plain scalar for an int, float or enum value."""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"cannot write {value!r} as a config value")
    if isinstance(value, float):
        return repr(round(value, 6))
    return str(value)


def _mapping(node: yaml.Node | None, where: str) -> yaml.MappingNode:
    if not isinstance(node, yaml.MappingNode):
        raise ConfigError(f"{where} is not a mapping: cannot set keys in it")
    return node


def _entry(mapping: yaml.MappingNode, name: str) -> tuple[yaml.Node, yaml.Node] | None:
    for key, value in mapping.value:
        if isinstance(key, yaml.ScalarNode) and key.value == name:
            return key, value
    return None


def _insertion(text: str, section: yaml.MappingNode, keys: Mapping[str, Any]) -> tuple[int, str]:
    """Where and what to insert to add ``keys`` to an existing section."""
    entries = ", ".join(f"{name}: {_scalar(value)}" for name, value in keys.items())
    if section.flow_style:
        closing = text.rindex("}", section.start_mark.index, section.end_mark.index)
        separator = ", " if section.value else ""
        return closing, separator + entries
    indent = " " * section.value[0][0].start_mark.column
    lines = "".join(f"{indent}{name}: {_scalar(value)}\n" for name, value in keys.items())
    end = section.value[-1][1].end_mark.index
    if end > 0 and text[end - 1] == "\n":
        return end, lines
    newline = text.find("\n", end)
    if newline < 0:
        return len(text), "\n" + lines
    return newline + 1, lines


def set_keys(text: str, changes: Mapping[ConfigKey, Any], origin: str = "config") -> str:
    """``text`` with each ``(section, key)`` of ``changes`` set to its value (module
    docstring). Raises ``ConfigError`` naming ``origin`` when that cannot be done exactly."""
    try:
        root = yaml.compose(text)
        before = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"{origin} is not valid YAML: {error}") from None
    root = _mapping(root, f"{origin}'s top level")
    edits: list[tuple[int, int, str]] = []
    appended: list[str] = []
    by_section: dict[str, dict[str, Any]] = {}
    for (section, name), value in changes.items():
        by_section.setdefault(section, {})[name] = value
    for section, keys in by_section.items():
        found = _entry(root, section)
        if found is None:
            appended.append(f"{section}:\n")
            appended += [f"  {name}: {_scalar(value)}\n" for name, value in keys.items()]
            continue
        mapping = _mapping(found[1], f"{origin}: {section}")
        missing: dict[str, Any] = {}
        for name, value in keys.items():
            entry = _entry(mapping, name)
            if entry is None:
                missing[name] = value
            elif not isinstance(entry[1], yaml.ScalarNode):
                raise ConfigError(f"{origin}: {section} -> {name} is not a single value")
            else:
                start, end = entry[1].start_mark.index, entry[1].end_mark.index
                edits.append((start, end, _scalar(value)))
        if missing:
            if not mapping.value:
                raise ConfigError(f"{origin}: {section} is empty: cannot add keys to it in place")
            index, inserted = _insertion(text, mapping, missing)
            edits.append((index, index, inserted))
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    if appended:
        text += ("" if text.endswith("\n") or not text else "\n") + "".join(appended)
    _check(text, before, by_section, origin)
    return text


def _check(
    text: str, before: dict[str, Any], changes: dict[str, dict[str, Any]], origin: str
) -> None:
    """The new text must read as the old one with exactly ``changes`` made."""
    expected = {
        key: dict(value) if isinstance(value, dict) else value for key, value in before.items()
    }
    for section, keys in changes.items():
        expected.setdefault(section, {})
        for name, value in keys.items():
            expected[section][name] = value.value if isinstance(value, Enum) else value
    after = yaml.safe_load(text)
    if after != expected:
        raise ConfigError(f"{origin}: could not set the calibrated keys in place (its layout)")


def write_config_keys(path: Path, changes: Mapping[ConfigKey, Any]) -> Path:
    """Set ``changes`` in the config file ``path`` (module docstring); the new file must
    still validate. Returns the backup's path."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read config {path}: {error.strerror}") from None
    new_text = set_keys(text, changes, str(path))
    parse_config(yaml.safe_load(new_text), origin=f"{path} with the calibrated settings")
    backup = path.with_name(path.name + ".bak")
    try:
        shutil.copy2(path, backup)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as output:
                output.write(new_text)
                output.flush()
                os.fsync(output.fileno())
            shutil.copymode(path, temporary)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise ConfigError(f"cannot write config {path}: {error.strerror or error}") from None
    return backup

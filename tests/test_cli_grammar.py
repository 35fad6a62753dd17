"""One command-line grammar (docs/cli.md), checked by walking the ``footfall`` app: every
command that reads a config takes ``-c/--config``; positional arguments only name the thing
acted on; list options repeat (singular names); every command that prints a table takes
``--json``; and every ``footfall`` line in the README's code blocks parses as written."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from footfall.cli import app

ROOT = Path(__file__).resolve().parents[1]
POSITIONAL_NAMES = {"video", "source", "path", "clip"}
"""The things a command acts on: a recording, a live source, a CSV file."""
TABLE_COMMANDS = {
    "footfall edge replay",
    "footfall edge audit",
    "footfall edge calibrate",
    "footfall impact",
    "footfall policy list",
}
"""Commands that print a table, so must offer ``--json``."""
SERVICE_COMMANDS = {"footfall edge run", "footfall aggregator run", "footfall aggregator api"}
"""Long-running services: ``--log-level``, ``--log-format`` and ``--quiet``."""


def _commands() -> Iterator[tuple[str, Any]]:
    def walk(command: Any, path: str) -> Iterator[tuple[str, Any]]:
        if not hasattr(command, "commands") or getattr(command, "invoke_without_command", False):
            yield path, command  # a command, or a group that also runs by itself (impact)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(sub, f"{path} {name}")

    yield from walk(typer.main.get_command(app), "footfall")


COMMANDS = dict(_commands())


def _options(command: Any) -> dict[str, Any]:
    return {p.name: p for p in command.params if p.param_type_name == "option"}


def test_the_walk_finds_every_command() -> None:
    assert {"footfall edge run", "footfall impact", "footfall policy add"} <= set(COMMANDS)
    assert len(COMMANDS) >= 18


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_a_config_is_always_dash_c(path: str) -> None:
    for option in _options(COMMANDS[path]).values():
        if "--config" in option.opts:
            assert "-c" in option.opts, f"{path}: --config without -c"
        assert "-c" not in option.opts or "--config" in option.opts, f"{path}: -c is not --config"


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_positional_arguments_name_the_thing_acted_on(path: str) -> None:
    arguments = [p.name for p in COMMANDS[path].params if p.param_type_name == "argument"]
    assert set(arguments) <= POSITIONAL_NAMES, f"{path}: positional {arguments}"
    assert len(arguments) <= 1, f"{path}: more than one positional argument {arguments}"


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_lists_repeat_their_option_under_a_singular_name(path: str) -> None:
    for option in _options(COMMANDS[path]).values():
        if not option.multiple:
            continue
        primary = next(name for name in option.opts if name.startswith("--"))
        assert not primary.endswith("s"), f"{path}: list option {primary} should be singular"


@pytest.mark.parametrize("path", sorted(TABLE_COMMANDS))
def test_tables_come_with_json(path: str) -> None:
    assert "--json" in {name for o in _options(COMMANDS[path]).values() for name in o.opts}


@pytest.mark.parametrize("path", sorted(SERVICE_COMMANDS))
def test_services_log_the_same_way(path: str) -> None:
    names = {name for o in _options(COMMANDS[path]).values() for name in o.opts}
    assert {"--log-level", "--log-format", "--quiet", "-q"} <= names, path


def _readme_command_lines() -> list[str]:
    """``footfall ...`` lines of the README's ``bash`` blocks, continuation lines joined,
    comments and ``[optional]`` brackets removed."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL):
        joined = re.sub(r"\\\n\s*", " ", block)
        for raw in joined.splitlines():
            line = raw.split("  #")[0].strip()
            if line.startswith("footfall "):
                found.append(line.replace("[", "").replace("]", ""))
    return found


README_LINES = _readme_command_lines()


def test_the_readme_has_command_examples() -> None:
    assert len(README_LINES) >= 10


@pytest.mark.parametrize("line", README_LINES)
def test_every_readme_command_parses_as_written(line: str) -> None:
    """Options and values are checked by the same parser that runs the command; the command
    itself is not run (most need servers or minutes of video)."""
    words = shlex.split(line.replace('"$GRAFANA_TOKEN"', "token"))[1:]
    command: Any = typer.main.get_command(app)
    context = command.make_context("footfall", list(words), resilient_parsing=False)
    while hasattr(command, "commands"):
        arguments = [*_protected(context), *context.args]
        if not arguments and command.invoke_without_command:
            break  # the group runs by itself (footfall impact --policy ...)
        name, command, arguments = command.resolve_command(context, arguments)
        context = command.make_context(name, list(arguments), parent=context)
    assert not context.args, f"unexpected words {context.args} in {line!r}"
    assert not _protected(context), f"unexpected words {_protected(context)} in {line!r}"


def _protected(context: Any) -> list[str]:
    """A group's not-yet-parsed sub-command words (``_protected_args`` since click 8.2)."""
    return list(getattr(context, "_protected_args", None) or getattr(context, "protected_args", []))


def test_version_names_the_detector_runtimes() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    first, second = result.output.splitlines()[:2]
    assert re.fullmatch(r"footfall \d+\.\d+\.\d+\S*", first)
    assert second.startswith("detector runtimes: ")
    assert "openvino" in second or "onnxruntime" in second or "ultralytics" in second


def test_bad_input_exits_2_and_names_the_option() -> None:
    result = CliRunner().invoke(app, ["edge", "replay", "clip.avi", "--line", "door=1,2"])
    assert result.exit_code == 2
    assert "--line 'door=1,2'" in result.output

"""Grafana's substitutions in InfluxQL queries, done the way Grafana does them, so that a
dashboard's queries can run against InfluxDB without Grafana.

- ``$timeFilter`` -> ``time >= <from>ms and time <= <to>ms`` (the panel's range, after its
  relative time and time shift), as Grafana's InfluxQL backend renders it.
- ``$__interval`` / ``$interval`` -> range / max data points, rounded to Grafana's "nice"
  steps, at least the minimum interval (panel ``interval`` or datasource ``timeInterval``),
  formatted ``30s``, ``5m``, ``1h``, ``1d``; ``$__interval_ms`` -> the same in milliseconds.
  The rounding table and formatting follow Grafana's ``gtime.RoundInterval`` and
  ``FormatInterval``; like the browser, it rounds before applying the minimum.
- ``${__from}`` / ``${__to}`` -> the dashboard's range (not the panel's) in epoch ms.
- Template variables: ``${name:regex}`` regex-escapes each value and joins several as
  ``(a|b)``; ``${name:raw}`` is the value as is (several joined with ``,``); a plain ``$name``
  (or ``${name}``, ``[[name]]``) is raw for a single-value variable without "All" and regex
  otherwise, as in Grafana's raw-InfluxQL interpolation. "All" without a custom all value is
  every value of the variable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_UNITS = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
    "y": timedelta(days=365),
}
_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d|w|y)$")
_REGEX_SPECIAL = re.compile(r"[\\^$*+?.()|\[\]{}/]")
_REFERENCE = re.compile(r"\$(\w+)|\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)(?::(\w+))?\]\]")

# (upper bound in ms, inclusive; rounded interval in ms), from Grafana's gtime.RoundInterval.
_ROUNDING_MS = (
    (10, 1),
    (15, 10),
    (35, 20),
    (75, 50),
    (150, 100),
    (350, 200),
    (750, 500),
    (1_500, 1_000),
    (3_500, 2_000),
    (7_500, 5_000),
    (12_500, 10_000),
    (17_500, 15_000),
    (25_000, 20_000),
    (45_000, 30_000),
    (90_000, 60_000),
    (210_000, 120_000),
    (450_000, 300_000),
    (750_000, 600_000),
    (1_050_000, 900_000),
    (1_500_000, 1_200_000),
    (2_700_000, 1_800_000),
    (5_400_000, 3_600_000),
    (9_000_000, 7_200_000),
    (16_200_000, 10_800_000),
    (32_400_000, 21_600_000),
    (86_400_000, 43_200_000),
    (604_800_000, 86_400_000),
    (1_814_400_000, 604_800_000),
)
_MONTH_BELOW_MS = 3_628_800_000
_MONTH_MS = 2_592_000_000
_YEAR_MS = 31_536_000_000


class MacroError(ValueError):
    """A query refers to something that cannot be substituted (unknown variable, missing
    max data points for ``$__interval``, an unsupported format)."""


@dataclass(frozen=True)
class TimeRange:
    """A dashboard or panel time range; both ends timezone-aware."""

    start_utc: datetime
    end_utc: datetime

    def __post_init__(self) -> None:
        for name, moment in (("start_utc", self.start_utc), ("end_utc", self.end_utc)):
            if moment.tzinfo is None:
                raise MacroError(f"{name} {moment.isoformat()} has no time zone")
        if self.end_utc <= self.start_utc:
            raise MacroError(
                f"time range ends ({self.end_utc}) before it starts ({self.start_utc})"
            )

    @property
    def start_ms(self) -> int:
        return _epoch_ms(self.start_utc)

    @property
    def end_ms(self) -> int:
        return _epoch_ms(self.end_utc)

    @property
    def duration(self) -> timedelta:
        return self.end_utc - self.start_utc

    def shifted_back(self, delta: timedelta) -> TimeRange:
        return TimeRange(self.start_utc - delta, self.end_utc - delta)

    def time_filter(self) -> str:
        return f"time >= {self.start_ms}ms and time <= {self.end_ms}ms"


@dataclass(frozen=True)
class VariableValue:
    """The current value(s) of a template variable. ``regex_by_default``: the variable is
    multi-value or has "All", so a plain ``$name`` is regex-formatted."""

    values: tuple[str, ...]
    regex_by_default: bool = False

    def __post_init__(self) -> None:
        if not self.values:
            raise MacroError("a variable needs at least one value")


def _epoch_ms(moment: datetime) -> int:
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return delta // timedelta(milliseconds=1)


def parse_duration(text: str) -> timedelta:
    """Grafana's short durations: ``500ms``, ``30s``, ``5m``, ``1h``, ``7d``, ``1w``, ``1y``."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise MacroError(f"duration {text!r} is not <number><ms|s|m|h|d|w|y>")
    return int(match.group(1)) * _UNITS[match.group(2)]


def round_interval(interval: timedelta) -> timedelta:
    milliseconds = interval / timedelta(milliseconds=1)
    for upper_ms, rounded_ms in _ROUNDING_MS:
        if milliseconds <= upper_ms:
            return timedelta(milliseconds=rounded_ms)
    return timedelta(milliseconds=_MONTH_MS if milliseconds < _MONTH_BELOW_MS else _YEAR_MS)


def format_interval(interval: timedelta) -> str:
    """Largest whole unit, truncated, as Grafana's ``FormatInterval`` (``90s`` -> ``1m``)."""
    milliseconds = interval // timedelta(milliseconds=1)
    for unit, size_ms in (("y", _YEAR_MS), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000)):
        if milliseconds >= size_ms:
            return f"{milliseconds // size_ms}{unit}"
    if milliseconds >= 1_000:
        return f"{milliseconds // 1_000}s"
    return f"{max(milliseconds, 1)}ms"


def query_interval(
    time_range: TimeRange, max_data_points: int, minimum: timedelta | None
) -> timedelta:
    """``$__interval`` of a panel: its range over ``max_data_points``, rounded, floored at
    ``minimum``."""
    if max_data_points < 1:
        raise MacroError(f"max data points {max_data_points} must be at least 1")
    rounded = round_interval(time_range.duration / max_data_points)
    return max(rounded, minimum) if minimum is not None else rounded


def regex_escape(value: str) -> str:
    """Grafana's ``regexEscape``: a backslash before every regex metacharacter and ``/``."""
    return _REGEX_SPECIAL.sub(lambda match: "\\" + match.group(0), value)


def format_variable(value: VariableValue, format_name: str | None) -> str:
    if format_name is None:
        if not value.regex_by_default:
            return ",".join(value.values)
        escaped = [regex_escape(item) for item in value.values]
        return "(" + "|".join(escaped) + ")"
    if format_name == "raw":
        return ",".join(value.values)
    if format_name == "regex":
        escaped = [regex_escape(item) for item in value.values]
        return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
    raise MacroError(f"variable format {format_name!r} is not supported (use regex or raw)")


@dataclass(frozen=True)
class Substitution:
    """Everything Grafana substitutes into one query: the dashboard's range (``${__from}``),
    the panel's range (``$timeFilter``), the panel's interval and the variables' values."""

    dashboard_range: TimeRange
    variables: Mapping[str, VariableValue]
    panel_range: TimeRange | None = None
    interval: timedelta | None = None

    def apply(self, text: str) -> str:
        return _REFERENCE.sub(self._replacement, text)

    def _replacement(self, match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        format_name = match.group(3) or match.group(5)
        panel_range = self.panel_range or self.dashboard_range
        if name == "timeFilter":
            return panel_range.time_filter()
        if name in ("__interval", "interval", "__interval_ms"):
            if self.interval is None:
                raise MacroError(f"${name} needs the panel's max data points (set maxDataPoints)")
            if name == "__interval_ms":
                return str(self.interval // timedelta(milliseconds=1))
            return format_interval(self.interval)
        if name == "__from":
            return str(self.dashboard_range.start_ms)
        if name == "__to":
            return str(self.dashboard_range.end_ms)
        if name not in self.variables:
            raise MacroError(f"query refers to unknown variable ${name}")
        return format_variable(self.variables[name], format_name)


def references(text: str) -> Sequence[tuple[str, str | None]]:
    """(name, format) of every ``$name`` / ``${name:format}`` / ``[[name]]`` in ``text``."""
    found = []
    for match in _REFERENCE.finditer(text):
        name = match.group(1) or match.group(2) or match.group(4)
        found.append((name, match.group(3) or match.group(5)))
    return found

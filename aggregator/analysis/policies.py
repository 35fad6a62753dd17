"""The policy registry: which change was made in which stores from which store-local date.

Stored in InfluxDB (measurement ``policy_changes``, one point per policy and store at the
store-local midnight of the effective date) so Grafana can draw every change as an annotation:

    SELECT "description" FROM "policy_changes" WHERE "removed" = false AND $timeFilter

InfluxDB 2.x/3.x do not support ``DELETE`` through the v1 API, so removing a policy writes
``removed=true`` onto the same points (same tags and time: the point is overwritten). Adding
it again writes ``removed=false``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, ValidationError

from aggregator.config import TimezoneName
from aggregator.storage.influx import InfluxClient, quote_identifier
from aggregator.storage.line_protocol import Point
from aggregator.storage.measurements import POLICY_CHANGES, PolicyChangesField, Tag
from aggregator.storage.points import policy_change_point
from protocol.messages import Identifier


class PolicyError(ValueError):
    """A registry request that cannot be honoured; the message names the policy and store."""


class PolicyEntry(BaseModel):
    """One store under one policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: Identifier
    store: Identifier
    effective_date: date
    """First store-local day on which the policy applies."""
    timezone: TimezoneName
    description: str = ""
    removed: bool = False

    @property
    def effective_utc(self) -> datetime:
        """Store-local midnight of the effective date, in UTC (the point's time)."""
        local = datetime.combine(self.effective_date, time(0), tzinfo=ZoneInfo(self.timezone))
        return local.astimezone(UTC)

    def point(self) -> Point:
        return policy_change_point(
            self.policy,
            self.store,
            effective_date=self.effective_date,
            timezone=self.timezone,
            description=self.description,
            removed=self.removed,
            effective_utc=self.effective_utc,
        )


@dataclass(frozen=True)
class Policy:
    """A named change. Its stores may adopt it on different store-local dates (a staggered
    roll-out: 5 stores in March, 10 more in May); ``effective_date`` is the first of them."""

    name: str
    effective_date: date
    entries: tuple[PolicyEntry, ...]

    @property
    def effective_dates(self) -> dict[str, date]:
        """Store -> its own effective date."""
        return {entry.store: entry.effective_date for entry in self.entries}

    @property
    def staggered(self) -> bool:
        return len(set(self.effective_dates.values())) > 1

    @property
    def stores(self) -> list[str]:
        return [entry.store for entry in self.entries]

    @property
    def timezones(self) -> dict[str, str]:
        return {entry.store: entry.timezone for entry in self.entries}

    @property
    def description(self) -> str:
        return next((entry.description for entry in self.entries if entry.description), "")


def _group(entries: Sequence[PolicyEntry]) -> list[Policy]:
    """Entries -> policies, in order of (first) effective date."""
    grouped: dict[str, list[PolicyEntry]] = {}
    for entry in entries:
        grouped.setdefault(entry.policy, []).append(entry)
    policies = [
        Policy(
            name,
            min(member.effective_date for member in members),
            tuple(sorted(members, key=lambda member: (member.effective_date, member.store))),
        )
        for name, members in grouped.items()
    ]
    return sorted(policies, key=lambda policy: (policy.effective_date, policy.name))


class PolicyRegistry:
    """Add, list and remove policies in the ``policy_changes`` measurement."""

    def __init__(self, client: InfluxClient) -> None:
        self.client = client

    def entries(self, include_removed: bool = False) -> list[PolicyEntry]:
        fields = (
            PolicyChangesField.DESCRIPTION,
            PolicyChangesField.EFFECTIVE_DATE,
            PolicyChangesField.TIMEZONE,
            PolicyChangesField.REMOVED,
        )
        statement = (
            f"SELECT {', '.join(quote_identifier(field) for field in fields)} "
            f"FROM {quote_identifier(POLICY_CHANGES)} "
            f"GROUP BY {quote_identifier(Tag.POLICY)}, {quote_identifier(Tag.STORE)}"
        )
        found: list[PolicyEntry] = []
        for series in self.client.query(statement):
            for row in series.rows():
                entry = PolicyEntry(
                    policy=series.tags[Tag.POLICY],
                    store=series.tags[Tag.STORE],
                    effective_date=date.fromisoformat(row[PolicyChangesField.EFFECTIVE_DATE]),
                    timezone=row[PolicyChangesField.TIMEZONE],
                    description=row[PolicyChangesField.DESCRIPTION] or "",
                    removed=bool(row[PolicyChangesField.REMOVED]),
                )
                if include_removed or not entry.removed:
                    found.append(entry)
        return found

    def policies(self, include_removed: bool = False) -> list[Policy]:
        return _group(self.entries(include_removed))

    def get(self, name: str) -> Policy:
        matches = [policy for policy in self.policies() if policy.name == name]
        if not matches:
            known = sorted({policy.name for policy in self.policies()})
            listed = ", ".join(known) if known else "none registered"
            raise PolicyError(f"no policy named {name!r} (known: {listed})")
        return matches[0]

    def add(
        self,
        name: str,
        stores: Sequence[str],
        effective_date: date,
        timezones: Mapping[str, str],
        description: str = "",
    ) -> Policy:
        """Register ``stores`` under ``name`` from ``effective_date`` (store-local). Stores
        added later with another date make a staggered roll-out of the same policy."""
        if not stores:
            raise PolicyError(f"policy {name!r} needs at least one store")
        active = [entry for entry in self.entries() if entry.policy == name]
        for entry in active:
            if entry.store in stores:
                raise PolicyError(f"policy {name!r} already covers store {entry.store!r}")
        try:
            new = [
                PolicyEntry(
                    policy=name,
                    store=store,
                    effective_date=effective_date,
                    timezone=timezones[store],
                    description=description,
                )
                for store in stores
            ]
        except ValidationError as error:
            problem = error.errors()[0]
            field = " -> ".join(str(part) for part in problem["loc"])
            raise PolicyError(f"policy {name!r}: {field}: {problem['msg']}") from None
        self.client.write([entry.point() for entry in new])
        return _group([*active, *new])[0]

    def remove(self, name: str, stores: Sequence[str] | None = None) -> list[PolicyEntry]:
        """Mark the policy (or only some of its stores) removed; returns the entries removed."""
        active = [entry for entry in self.entries() if entry.policy == name]
        if not active:
            raise PolicyError(f"no active policy named {name!r}")
        if stores:
            unknown = sorted(set(stores) - {entry.store for entry in active})
            if unknown:
                raise PolicyError(f"policy {name!r} does not cover store(s) {', '.join(unknown)}")
            active = [entry for entry in active if entry.store in stores]
        removed = [entry.model_copy(update={"removed": True}) for entry in active]
        self.client.write([entry.point() for entry in removed])
        return removed

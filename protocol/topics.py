"""The MQTT topic scheme: the one place that composes or parses a footfall topic.

```
{root}/{store}/{camera}/counts     edge → aggregator, QoS 1 (CountInterval)
{root}/{store}/{camera}/health     edge → aggregator and API (CameraHealth)
{root}/{store}/{camera}/status     edge, retained; the Last Will says offline (CameraStatus)
{root}/{store}/{camera}/live       edge → every aggregator replica, QoS 0: each counted
                                   crossing at once (LiveCrossing), best effort
{root}/{store}/occupancy           aggregator → API and displays, retained (StoreOccupancy)
{root}/dead-letter                 aggregator, retained: refused payloads with the reason
{root}/aggregator/line-counts      aggregator replicas: applied entrance counts
{root}/aggregator/status/{client}  aggregator, retained: rejections by reason, unseen
                                   entrance lines (AggregatorStatus)
{root}/alerts/{store}/{kind}[/{camera}]  aggregator, retained: an alert's latest event,
                                   fired or cleared (protocol.alerts.AlertEvent)
```

``root`` is ``footfall/v1`` unless configured; a new, incompatible schema gets a new root.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator

TOPIC_ROOT = "footfall/v1"
CameraTopicKind = Literal["counts", "health", "status", "live"]
CAMERA_TOPIC_KINDS: tuple[CameraTopicKind, ...] = ("counts", "health", "status")
"""What the aggregators take through their shared subscription (each message by one)."""
LIVE: Literal["live"] = "live"
"""Live crossings: every aggregator replica subscribes without sharing (QoS 0)."""
EDGE_TOPIC_KINDS: tuple[CameraTopicKind, ...] = (*CAMERA_TOPIC_KINDS, LIVE)
"""Everything an edge device publishes."""
DEAD_LETTER = "dead-letter"
AGGREGATOR_BRANCH = "aggregator"
ALERTS_BRANCH = "alerts"


def check_topic_root(value: str) -> str:
    """``value`` when it can be a topic root: no wildcards, white space or trailing ``/``."""
    if not value or value.endswith("/") or any(character in value for character in "#+ \t"):
        raise ValueError(
            f"topic_root {value!r} must be a topic without wildcards, spaces or a trailing /"
        )
    return value


TopicRoot = Annotated[str, AfterValidator(check_topic_root)]
"""A topic root, checked when a settings model is validated."""


def counts_topic(store_id: str, camera_id: str, root: str = TOPIC_ROOT) -> str:
    return f"{root}/{store_id}/{camera_id}/counts"


def health_topic(store_id: str, camera_id: str, root: str = TOPIC_ROOT) -> str:
    return f"{root}/{store_id}/{camera_id}/health"


def status_topic(store_id: str, camera_id: str, root: str = TOPIC_ROOT) -> str:
    return f"{root}/{store_id}/{camera_id}/status"


def live_topic(store_id: str, camera_id: str, root: str = TOPIC_ROOT) -> str:
    return f"{root}/{store_id}/{camera_id}/{LIVE}"


def occupancy_topic(store_id: str, root: str = TOPIC_ROOT) -> str:
    return f"{root}/{store_id}/occupancy"


def dead_letter_topic(root: str = TOPIC_ROOT) -> str:
    return f"{root}/{DEAD_LETTER}"


def sync_topic(root: str = TOPIC_ROOT) -> str:
    """Where aggregator replicas share the entrance counts each one applied."""
    return f"{root}/{AGGREGATOR_BRANCH}/line-counts"


def aggregator_status_topic(client_id: str, root: str = TOPIC_ROOT) -> str:
    """Where a replica retains its :class:`protocol.aggregator_status.AggregatorStatus`;
    characters that would make another topic level or a wildcard become ``_``."""
    level = "".join("_" if character in "/+#" else character for character in client_id)
    return f"{root}/{AGGREGATOR_BRANCH}/status/{level or '_'}"


def aggregator_status_filter(root: str = TOPIC_ROOT) -> str:
    return f"{root}/{AGGREGATOR_BRANCH}/status/+"


def alert_topic(
    store_id: str, kind: str, camera_id: str | None = None, root: str = TOPIC_ROOT
) -> str:
    """Where the aggregator retains one alert's latest event: per store and kind, and per
    camera for a camera alert."""
    topic = f"{root}/{ALERTS_BRANCH}/{store_id}/{kind}"
    return topic if camera_id is None else f"{topic}/{camera_id}"


def alerts_filter(root: str = TOPIC_ROOT) -> str:
    return f"{root}/{ALERTS_BRANCH}/#"


def camera_filter(kind: CameraTopicKind, root: str = TOPIC_ROOT, store_id: str = "+") -> str:
    """Every camera's ``kind`` topic (of one store, or of all with ``+``)."""
    return f"{root}/{store_id}/+/{kind}"


def occupancy_filter(root: str = TOPIC_ROOT) -> str:
    return f"{root}/+/occupancy"


def shared_subscription(group: str, topic_filter: str) -> str:
    """MQTT 5 shared subscription: the group's subscribers split the messages between them."""
    return f"$share/{group}/{topic_filter}"


@dataclass(frozen=True)
class CameraTopic:
    """Where a message came from, as its topic says."""

    store_id: str
    camera_id: str
    kind: CameraTopicKind


class TopicError(ValueError):
    """A topic that is not one of the scheme's camera topics; the message says why."""


def topic_levels(topic: str, root: str = TOPIC_ROOT) -> list[str]:
    """The levels of ``topic`` below ``root``, else :class:`TopicError`."""
    prefix = root + "/"
    if not topic.startswith(prefix):
        raise TopicError(f"topic {topic!r} is not under {root!r}")
    return topic[len(prefix) :].split("/")


def parse_camera_topic(topic: str, root: str = TOPIC_ROOT) -> CameraTopic:
    """``{root}/{store}/{camera}/{kind}`` → its parts, else :class:`TopicError`."""
    parts = topic_levels(topic, root)
    if len(parts) != 3 or parts[2] not in EDGE_TOPIC_KINDS or not parts[0] or not parts[1]:
        raise TopicError(f"topic {topic!r} is not {root}/<store>/<camera>/<kind>")
    return CameraTopic(parts[0], parts[1], parts[2])


@dataclass(frozen=True)
class AclRule:
    """One Mosquitto ACL line: ``topic {access} {pattern}``."""

    access: Literal["read", "write", "readwrite"]
    pattern: str

    def render(self) -> str:
        return f"topic {self.access} {self.pattern}"


def aggregator_rules(root: str = TOPIC_ROOT) -> list[AclRule]:
    """The aggregator reads every camera topic (live crossings included), publishes (and
    reads back) occupancy, writes dead letters, shares counts with its replicas and publishes
    (and reads back, to resume after a restart) alert events. Read
    rules also cover MQTT 5 shared subscriptions: Mosquitto checks the topic after
    ``$share/<group>/``."""
    return [
        *(AclRule("read", camera_filter(kind, root)) for kind in EDGE_TOPIC_KINDS),
        AclRule("readwrite", occupancy_filter(root)),
        AclRule("write", dead_letter_topic(root)),
        AclRule("readwrite", f"{root}/{AGGREGATOR_BRANCH}/#"),
        AclRule("readwrite", alerts_filter(root)),
    ]


def api_rules(root: str = TOPIC_ROOT) -> list[AclRule]:
    """The HTTP API and entrance displays: read-only (the aggregators' status gives
    ``/health`` their rejection counts; alert events are there to be read)."""
    return [
        AclRule("read", occupancy_filter(root)),
        AclRule("read", camera_filter("health", root)),
        AclRule("read", camera_filter("status", root)),
        AclRule("read", aggregator_status_filter(root)),
        AclRule("read", alerts_filter(root)),
    ]


def operator_rules(root: str = TOPIC_ROOT) -> list[AclRule]:
    """A person looking into the system (``mosquitto_sub``): reads everything under the root,
    dead letters and aggregator status included; publishes nothing."""
    return [AclRule("read", f"{root}/#")]


def store_rules(store_id: str, root: str = TOPIC_ROOT) -> list[AclRule]:
    """A store's edge devices publish their own cameras' messages (live crossings included)
    only."""
    return [AclRule("write", camera_filter(kind, root, store_id)) for kind in EDGE_TOPIC_KINDS]


def render_rules(rules: Iterable[AclRule]) -> list[str]:
    return [rule.render() for rule in rules]

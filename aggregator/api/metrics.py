"""``/metrics``: the aggregator replicas' figures (from their retained status) and the API's
own, in the Prometheus text format, so an alert can fire on rejections by reason."""

from __future__ import annotations

from collections import Counter

from aggregator.api.board import LiveBoard
from protocol.aggregator_status import AggregatorStatus


def rejections_by_reason(statuses: list[AggregatorStatus]) -> dict[str, int]:
    """Rejections per reason summed over the replicas."""
    total: Counter[str] = Counter()
    for status in statuses:
        total.update(status.rejected_by_reason)
    return dict(sorted(total.items()))


def never_seen_lines(statuses: list[AggregatorStatus]) -> list[str]:
    """Entrance lines no replica has seen (a line seen by any one of them was reported)."""
    if not statuses:
        return []
    unseen = set(statuses[0].entrance_lines_never_seen)
    for status in statuses[1:]:
        unseen &= set(status.entrance_lines_never_seen)
    return sorted(unseen)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_metrics(board: LiveBoard) -> str:
    statuses = board.aggregator_statuses()
    lines = [
        "# HELP footfall_aggregator_rejected_total Messages refused by the aggregator "
        "(dead letters), by reason, since each replica started.",
        "# TYPE footfall_aggregator_rejected_total counter",
    ]
    for status in statuses:
        for reason, count in sorted(status.rejected_by_reason.items()):
            lines.append(
                f'footfall_aggregator_rejected_total{{replica="{_label(status.client_id)}",'
                f'reason="{_label(reason)}"}} {count}'
            )
    lines += [
        "# HELP footfall_aggregator_accepted_total Count intervals accepted, per replica.",
        "# TYPE footfall_aggregator_accepted_total counter",
        *(
            f'footfall_aggregator_accepted_total{{replica="{_label(status.client_id)}"}} '
            f"{status.accepted}"
            for status in statuses
        ),
        "# HELP footfall_entrance_lines_never_seen Registry entrance lines no edge reported.",
        "# TYPE footfall_entrance_lines_never_seen gauge",
        f"footfall_entrance_lines_never_seen {len(never_seen_lines(statuses))}",
        "# HELP footfall_api_rejected_total Messages the API's own subscription refused.",
        "# TYPE footfall_api_rejected_total counter",
        f"footfall_api_rejected_total {board.counters.messages_rejected}",
    ]
    return "\n".join(lines) + "\n"

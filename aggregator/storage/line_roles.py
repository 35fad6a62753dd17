"""What a line of a count interval is, from its role (schema version 2) and the store
registry's ``entrance_lines`` (the one rule that points, the hot-path encoder and occupancy
share).

The role of a line lives in the edge config (``role:``, or the older ``entrance:`` boolean),
and a version 2 interval carries it. The registry's ``entrance_lines`` predates roles: it
decides alone for version 1 intervals, and for version 2 it can only narrow the entrances,
never widen them: a line the edge calls ``entrance`` (the edge's default for every line) that
the registry does not list for its camera is stored as ``internal``, as it always was. The
other roles (``passing``, ``staff``, ``internal``) are what the edge says, whatever the
registry lists.
"""

from __future__ import annotations

from protocol.messages import LineCount, LineRole


def effective_role(
    line_id: str, line: LineCount, entrance_lines: set[str] | None
) -> LineRole | None:
    """The role stored for a line; None for a version 1 line (it has none)."""
    role = line.role
    if role is LineRole.ENTRANCE and entrance_lines is not None and line_id not in entrance_lines:
        return LineRole.INTERNAL
    return role


def is_entrance(line_id: str, role: LineRole | None, entrance_lines: set[str] | None) -> bool:
    """Whether entries of the line are visits, given its :func:`effective_role`."""
    if role is None:
        return entrance_lines is None or line_id in entrance_lines
    return role is LineRole.ENTRANCE


def moves_occupancy(line_id: str, role: LineRole | None, entrance_lines: set[str] | None) -> bool:
    """Entrances and staff doors move occupancy (a staff door's crossings are never visits);
    passing and internal lines do not."""
    return role is LineRole.STAFF or is_entrance(line_id, role, entrance_lines)

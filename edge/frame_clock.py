"""Frames whose clock is behind what this camera has already counted are not counted again.

After a restart the first interval must not start before the end of the camera's last saved
interval (the aggregator keys storage on the interval start, so an overlap would overwrite
stored counts). The frame clock can be behind it: a recording replayed again from its start
(its frames carry the same times as in the first run), or a store box whose clock stepped
back (no RTC after a power cut, then NTP). Raising there would make a ``Restart=always``
unit loop forever and count nothing. :class:`FrameClockGuard` lets such frames pass
uncounted, with one warning when it starts and one line when counting resumes: what was
counted and stored stays as it is, and nothing is counted twice. Frames that go back within
a run (a live clock stepping back) are treated the same way.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime

logger = logging.getLogger(__name__)


def _utc_text(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat(timespec="seconds")


class FrameClockGuard:
    """One camera's frame clock against the end of what it counted (UTC seconds)."""

    def __init__(self, camera_id: str, last_interval_end_utc: datetime | None) -> None:
        self.camera_id = camera_id
        self._counted_until = (
            last_interval_end_utc.timestamp() if last_interval_end_utc is not None else -math.inf
        )
        self._saved_interval_end = self._counted_until
        self.frames_skipped = 0
        self._skipped_in_episode = 0
        self._episode_first_frame = 0.0

    def admit(self, timestamp_seconds: float) -> bool:
        """Whether the frame taken at ``timestamp_seconds`` may be counted."""
        if timestamp_seconds >= self._counted_until:
            if self._skipped_in_episode:
                logger.warning(
                    "camera %s: frame clock reached %s; counting resumed after %d frames "
                    "(%.1f s of frame time) that were not counted",
                    self.camera_id,
                    _utc_text(timestamp_seconds),
                    self._skipped_in_episode,
                    timestamp_seconds - self._episode_first_frame,
                )
                self._skipped_in_episode = 0
            self._counted_until = timestamp_seconds
            return True
        if not self._skipped_in_episode:
            self._episode_first_frame = timestamp_seconds
            what = (
                "the end of its last saved interval"
                if self._counted_until == self._saved_interval_end
                else "its previous frame"
            )
            logger.warning(
                "camera %s: frame time %s is %.1f s behind %s (%s): a recording restarted "
                "from its beginning, or the clock stepped back; its frames are not counted "
                "until the clock passes that time, so nothing is counted twice",
                self.camera_id,
                _utc_text(timestamp_seconds),
                self._counted_until - timestamp_seconds,
                what,
                _utc_text(self._counted_until),
            )
        self._skipped_in_episode += 1
        self.frames_skipped += 1
        return False

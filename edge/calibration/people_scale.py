"""The people scale: true people per person counted, measured on one camera's recording.

A detector misses the people hidden behind others, and misses more of them the more crowded
the view, so on a busy camera the people counted per frame stay low whatever its input size
or confidence. Calibration, once it has chosen the other settings, measures the shortfall on
the recording: the scale is Σ true people ÷ Σ counted people over its frames (both where the
detector looks), which makes the scaled count's mean error over the recording zero. It is
set only when the count was meaningfully biased (|bias| above :data:`BIAS_THRESHOLD` people
per frame); otherwise it stays 1.0, so an unbiased camera keeps the default.

The scale is one number for the camera's view: calibration can measure it per camera (the
truth's people per frame), not per zone, whose people would need a zone-by-zone truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BIAS_THRESHOLD = 0.05
"""People per frame: a bias of at most this keeps the scale at 1.0 (ties keep defaults)."""
SCALE_BOUNDS = (0.5, 2.0)
"""``counting.people_scale``'s bounds (``edge.config``): the scale is clipped to them."""
SCALE_DECIMALS = 3
"""The scale is written rounded to this many decimals."""


@dataclass(frozen=True)
class PeopleScale:
    """The scale chosen, and the people-per-frame error before and after it (people per
    frame: bias is the mean of counted - true, negative counts too few)."""

    scale: float
    bias_before: float
    mae_before: float
    bias_after: float
    mae_after: float

    @property
    def changed(self) -> bool:
        """Whether the count needed a scale (else it stays 1.0)."""
        return self.scale != 1.0


def _errors(counted: Sequence[int], true: Sequence[int], scale: float) -> tuple[float, float]:
    """Bias and MAE of ``counted × scale`` against ``true``, people per frame."""
    if len(counted) == 0:
        return 0.0, 0.0
    errors = np.asarray(counted, dtype=np.float64) * scale - np.asarray(true, dtype=np.float64)
    return float(errors.mean()), float(np.abs(errors).mean())


def fit_people_scale(counted: Sequence[int], true: Sequence[int]) -> PeopleScale:
    """The scale for people ``counted`` per frame against ``true`` people per frame (the
    same frames, in order): Σ true ÷ Σ counted when the count's |bias| is above
    :data:`BIAS_THRESHOLD`, clipped to :data:`SCALE_BOUNDS` and rounded to
    :data:`SCALE_DECIMALS`; 1.0 otherwise, and when nothing was counted."""
    if len(counted) != len(true):
        raise ValueError(f"{len(counted)} frames counted but {len(true)} in the truth")
    bias, mae = _errors(counted, true, 1.0)
    scale = 1.0
    total_counted, total_true = sum(counted), sum(true)
    if abs(bias) > BIAS_THRESHOLD and total_counted > 0:
        low, high = SCALE_BOUNDS
        scale = round(min(max(total_true / total_counted, low), high), SCALE_DECIMALS)
    bias_after, mae_after = _errors(counted, true, scale)
    return PeopleScale(scale, bias, mae, bias_after, mae_after)

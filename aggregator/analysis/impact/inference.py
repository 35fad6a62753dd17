"""Critical values for Newey-West t statistics in short daily series, calibrated by simulation.

With four weeks a side, a Newey-West (HAC) standard error is biased downwards, and more so
for designs with trend terms (the residuals of a segmented regression lose exactly the slow
variation the effect depends on): with normal critical values a "95%" interval covers the
truth 80-90% of the time in simulations. The critical value is therefore the 95% quantile
of |t| for *this* design, HAC estimator and contrast, simulated under AR(1) errors whose
coefficient is the residuals' lag-one autocorrelation (clipped to [0, 0.95]): a parametric
bootstrap of the t statistic. The draws are fixed (seeded), so the same data always give the
same interval. It is never below the fixed-b value of Kiefer & Vogelsang (2005) for the
Bartlett kernel, 1.96 + 2.9694 b + 0.4160 b^2 - 0.5324 b^3 with b = (lags + 1) / n.

The HAC estimator here is the one statsmodels computes for ``cov_type="HAC"`` (Bartlett
weights 1 - l / (lags + 1), small-sample factor n / (n - k)); a test checks they agree.
"""

from __future__ import annotations

from functools import cache, lru_cache

import numpy as np

BOOTSTRAP_DRAWS = 1000
BOOTSTRAP_SEED = 20260301
MAXIMUM_AUTOCORRELATION = 0.95
AUTOCORRELATION_STEP = 0.05


@cache
def _standard_normals(length: int) -> np.ndarray:
    normals: np.ndarray = np.random.default_rng(BOOTSTRAP_SEED).standard_normal(
        (BOOTSTRAP_DRAWS, length)
    )
    return normals


def fixed_b_critical_value(lags: int, observations: int) -> float:
    """Two-sided 95% critical value for a Bartlett-kernel HAC t statistic (fixed-b)."""
    b = min((lags + 1) / observations, 1.0)
    return float(1.96 + 2.9694 * b + 0.4160 * b**2 - 0.5324 * b**3)


def contrast_variance(
    influence: np.ndarray, residuals: np.ndarray, lags: int, parameters: int
) -> np.ndarray:
    """Newey-West variance of ``influence @ y`` for each row of ``residuals`` (draws x n).

    ``influence`` is ``X (X'X)^-1 c``: the weight of each observation in the contrast."""
    observations = residuals.shape[-1]
    scores = influence * residuals
    variance = np.sum(scores * scores, axis=-1)
    for lag in range(1, lags + 1):
        weight = 1.0 - lag / (lags + 1)
        variance = variance + 2 * weight * np.sum(scores[..., lag:] * scores[..., :-lag], axis=-1)
    corrected: np.ndarray = variance * observations / (observations - parameters)
    return corrected


def lag_one_autocorrelation(residuals: np.ndarray) -> float:
    denominator = float(residuals @ residuals)
    if denominator <= 0:
        return 0.0
    return float(residuals[1:] @ residuals[:-1]) / denominator


def _ar1_draws(length: int, coefficient: float) -> np.ndarray:
    """Stationary AR(1) draws with unit variance, one per row."""
    from scipy.signal import lfilter

    innovations = _standard_normals(length).copy()
    scale = np.sqrt(1.0 - coefficient**2)
    innovations[:, 0] /= scale
    draws: np.ndarray = lfilter([scale], [1.0, -coefficient], innovations, axis=1)
    return draws


def calibrated_critical_value(
    design: np.ndarray,
    weights: np.ndarray,
    rows: np.ndarray,
    window_days: int,
    residuals: np.ndarray,
    lags: int,
) -> float:
    """95% critical value for the HAC t statistic of ``weights @ beta``.

    ``design`` holds the observed rows only; ``rows`` are their positions among the
    ``window_days`` consecutive days (missing days are simulated, then dropped, as in the
    data). The autocorrelation is rounded up to a multiple of ``AUTOCORRELATION_STEP``, so
    stores sharing a design share the simulation."""
    observed = float(np.clip(lag_one_autocorrelation(residuals), 0.0, MAXIMUM_AUTOCORRELATION))
    coefficient = min(np.ceil(observed / AUTOCORRELATION_STEP) * AUTOCORRELATION_STEP, 0.95)
    return _simulated_critical_value(
        design.tobytes(),
        (int(design.shape[0]), int(design.shape[1])),
        weights.astype(np.float64).tobytes(),
        rows.astype(np.int64).tobytes(),
        window_days,
        lags,
        round(float(coefficient), 4),
    )


@lru_cache(maxsize=4096)
def _simulated_critical_value(
    design_bytes: bytes,
    shape: tuple[int, int],
    weights_bytes: bytes,
    rows_bytes: bytes,
    window_days: int,
    lags: int,
    coefficient: float,
) -> float:
    """The simulation behind ``calibrated_critical_value`` (arrays passed as bytes so the
    result can be cached)."""
    design = np.frombuffer(design_bytes, dtype=np.float64).reshape(shape)
    weights = np.frombuffer(weights_bytes, dtype=np.float64)
    rows = np.frombuffer(rows_bytes, dtype=np.int64)
    inverse = np.linalg.inv(design.T @ design)
    influence = design @ inverse @ weights
    errors = _ar1_draws(window_days, coefficient)[:, rows]
    simulated_residuals = errors - (errors @ design) @ inverse @ design.T
    variance = contrast_variance(influence, simulated_residuals, lags, shape[1])
    statistics = np.abs(errors @ influence) / np.sqrt(variance)
    simulated = float(np.quantile(statistics, 0.95))
    return max(simulated, fixed_b_critical_value(lags, len(rows)))

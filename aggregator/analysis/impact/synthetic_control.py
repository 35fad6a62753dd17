"""Synthetic control for one or a few treated stores (Abadie, Diamond & Hainmueller 2010).

A pilot store has no single good control; a weighted mix of untreated stores may track it
much better. On log daily visits, each series less its own before-window mean (the demeaned
variant of Ferman & Pinto 2021, so a store need not lie inside the donors' range of levels),
the weights w >= 0, sum w = 1 minimise the squared gap over the before window. The effect is
the mean gap after the change less the mean gap before (log, reported as exp - 1), and the
pre-period fit is the root mean squared prediction error (RMSPE) of the gap before.

Inference is placebo-in-space: every donor in turn is treated as if it had the change and
fitted from the other donors; the treated unit's ratio of after to before RMSPE is ranked
among all of them (rank 1 = the most extreme; p = rank / (donors + 1)), and the 95% interval
is the effect plus or minus the 95% quantile of the placebos' absolute effects (with fewer
than 19 donors that is their largest: wide, as it should be).

Weights are solved as non-negative least squares with the sum-to-one constraint as a heavily
weighted extra row (scipy's ``nnls``), milliseconds per fit. ``pysyncon`` (PyPI) was not used:
its ``Synth`` solves the nested predictor-weight (V) problem by numerical optimisation, which
needs covariates a store does not have and takes seconds per fit; with the outcome as the only
predictor the inner problem is exactly this constrained least squares.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from aggregator.analysis.impact.controls import window_masks
from aggregator.analysis.impact.regression import Estimate, EstimationError
from aggregator.analysis.impact.settings import Windows

SYNTHETIC_CONTROL = "synthetic_control"
MINIMUM_DONORS = 4
SUM_TO_ONE_WEIGHT = 1e4
MAXIMUM_TREATED_STORES = 3
"""``--design auto`` considers a synthetic control only for this few treated stores."""
BETTER_FIT_FACTOR = 0.9
"""Chosen automatically when its before-window RMSPE is below this share of the
difference-in-differences comparison's (the simple ratio to the control pool)."""


@dataclass(frozen=True)
class SyntheticFit:
    """A fitted synthetic control in logs: the effect, the fit before, the RMSPE ratio."""

    effect: float
    pre_rmspe: float
    post_rmspe: float
    weights: np.ndarray
    counterfactual: np.ndarray
    """Per day, the log value the synthetic control predicts (level-matched before)."""

    @property
    def ratio(self) -> float:
        return self.post_rmspe / self.pre_rmspe if self.pre_rmspe > 0 else float("inf")


@dataclass(frozen=True)
class SyntheticControl:
    estimate: Estimate
    days: pd.DatetimeIndex
    counterfactual_log: np.ndarray
    """On ``days`` (NaN where not estimated): the unit's log visits without the change."""
    weights: dict[str, float]
    pre_rmspe: float
    comparison_pre_rmspe: float | None
    placebo_rank: int
    placebo_count: int

    @property
    def p_value(self) -> float:
        return self.placebo_rank / (self.placebo_count + 1)

    def to_json(self) -> dict[str, Any]:
        top = sorted(self.weights.items(), key=lambda item: -item[1])
        return {
            "weights": {store: round(weight, 4) for store, weight in top if weight >= 0.005},
            "pre_rmspe_pct": round(self.pre_rmspe * 100, 3),
            "comparison_pre_rmspe_pct": None
            if self.comparison_pre_rmspe is None
            else round(self.comparison_pre_rmspe * 100, 3),
            "placebo_rank": self.placebo_rank,
            "placebo_count": self.placebo_count,
            "p_value": round(self.p_value, 4),
        }


def _weights(target: np.ndarray, donors: np.ndarray) -> np.ndarray:
    from scipy.optimize import nnls

    scale = SUM_TO_ONE_WEIGHT
    matrix = np.vstack([donors, np.full((1, donors.shape[1]), scale)])
    solution, _ = nnls(matrix, np.append(target, scale))
    total = solution.sum()
    return solution / total if total > 0 else np.full(donors.shape[1], 1 / donors.shape[1])


def fit_synthetic(target: np.ndarray, donors: np.ndarray, before: np.ndarray) -> SyntheticFit:
    """``target`` (days) and ``donors`` (days x donors): log values, finite; ``before``: mask."""
    level = target[before].mean()
    centred = donors - donors[before].mean(axis=0)
    weights = _weights(target[before] - level, centred[before])
    synthetic = level + centred @ weights
    offset = (target - synthetic)[before].mean()
    gap = target - synthetic - offset
    after = ~before
    return SyntheticFit(
        effect=float(gap[after].mean()),
        pre_rmspe=float(np.sqrt(np.mean(gap[before] ** 2))),
        post_rmspe=float(np.sqrt(np.mean(gap[after] ** 2))),
        weights=weights,
        counterfactual=synthetic + offset,
    )


def synthetic_control(
    visits: np.ndarray,
    donor_visits: pd.DataFrame,
    windows: Windows,
    comparison: np.ndarray | None = None,
) -> SyntheticControl:
    """The unit's synthetic control from the donor stores (days x stores, same days as
    ``visits``), over ``windows``; ``comparison`` is the control pool, for the fit contrast."""
    days = pd.DatetimeIndex(donor_visits.index)
    before, after = window_masks(days, windows)
    inside = before | after
    with np.errstate(divide="ignore", invalid="ignore"):
        target = np.log(visits)
        logs = np.log(donor_visits.to_numpy(dtype=np.float64))
    complete = np.all(np.isfinite(logs[inside]), axis=0)
    names = [str(name) for name, ok in zip(donor_visits.columns, complete, strict=True) if ok]
    rows = inside & np.isfinite(target)
    if len(names) < MINIMUM_DONORS or before[rows].sum() < 7 or after[rows].sum() < 7:
        raise EstimationError(
            f"synthetic control: {len(names)} donor stores with every day, need {MINIMUM_DONORS}"
        )
    donors = logs[:, complete][rows]
    pre = before[rows]
    fitted = fit_synthetic(target[rows], donors, pre)
    placebos = [
        fit_synthetic(donors[:, one], np.delete(donors, one, axis=1), pre)
        for one in range(donors.shape[1])
    ]
    ratios = np.array([placebo.ratio for placebo in placebos])
    rank = int(1 + np.sum(ratios >= fitted.ratio))
    spread = np.abs([placebo.effect for placebo in placebos])
    half_width = float(np.quantile(spread, 0.95, method="higher"))
    estimate = Estimate.from_log(SYNTHETIC_CONTROL, fitted.effect, half_width, 1.0, int(rows.sum()))
    counterfactual = np.full(len(days), np.nan)
    counterfactual[rows] = fitted.counterfactual
    return SyntheticControl(
        estimate=estimate,
        days=days,
        counterfactual_log=counterfactual,
        weights=dict(zip(names, (float(weight) for weight in fitted.weights), strict=True)),
        pre_rmspe=fitted.pre_rmspe,
        comparison_pre_rmspe=_comparison_rmspe(target, comparison, before, rows),
        placebo_rank=rank,
        placebo_count=len(placebos),
    )


def _comparison_rmspe(
    target: np.ndarray, comparison: np.ndarray | None, before: np.ndarray, rows: np.ndarray
) -> float | None:
    """Before-window RMSPE of the control pool as a counterfactual (level-matched)."""
    if comparison is None:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = target - np.log(comparison)
    chosen = gap[before & rows]
    chosen = chosen[np.isfinite(chosen)]
    if chosen.size < 7:
        return None
    return float(np.sqrt(np.mean((chosen - chosen.mean()) ** 2)))


def is_better(control: SyntheticControl) -> bool:
    """Whether ``--design auto`` should read the unit with its synthetic control."""
    if control.comparison_pre_rmspe is None:
        return True
    return control.pre_rmspe < BETTER_FIT_FACTOR * control.comparison_pre_rmspe

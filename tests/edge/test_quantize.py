"""The INT8 accuracy check: INT8 is kept only when it counts as well as float32."""

from __future__ import annotations

import pytest

from edge.quantize import CheckRun, _failures


def run(entries: int, exits: int, people_mae: float, true: tuple[int, int] | None) -> CheckRun:
    errors = {"door": {"in": 0, "out": 0}}
    if true is not None:
        errors = {"door": {"in": entries - true[0], "out": exits - true[1]}}
    return CheckRun({"door": {"in": entries, "out": exits}}, errors, people_mae, 40.0)


@pytest.mark.parametrize(
    ("float32", "int8", "reasons"),
    [
        # with the truth 18 / 14: the same errors and MAE within 0.05 pass
        ((17, 14, 0.428), (17, 14, 0.470), 0),
        # a different but not larger error passes (17 → 19 is still one off)
        ((17, 14, 0.428), (19, 14, 0.430), 0),
        ((17, 14, 0.428), (16, 14, 0.430), 1),  # one more crossing wrong
        ((17, 14, 0.428), (17, 14, 0.479), 1),  # MAE 0.051 worse
        ((17, 14, 0.428), (16, 15, 0.600), 3),
    ],
)
def test_with_truth_int8_may_not_make_more_errors(
    float32: tuple[int, int, float], int8: tuple[int, int, float], reasons: int
) -> None:
    truth = (18, 14)
    found = _failures(run(*float32, truth), run(*int8, truth), with_truth=True)
    assert len(found) == reasons


def test_without_truth_int8_must_count_what_float32_counts() -> None:
    float32 = run(17, 14, 0.0, None)
    assert _failures(float32, run(17, 14, 0.05, None), with_truth=False) == []
    assert _failures(float32, run(18, 14, 0.0, None), with_truth=False) == [
        "line door in: INT8 counted 18, float32 17"
    ]
    assert _failures(float32, run(17, 14, 0.06, None), with_truth=False) == [
        "people per frame: INT8 MAE 0.060 > 0.050"
    ]

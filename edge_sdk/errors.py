"""The one exception type users see: a message that names the problem and the fix; and the checks of numeric
parameters every estimator and command shares."""
from __future__ import annotations

import math
import numbers


class EdgeSdkError(Exception):
    """Bad input or a failed step; `str(err)` is meant for people (the CLI prints it and exits non-zero)."""


def positive_int(name: str, value) -> int:
    """`value` as an int, or an EdgeSdkError naming `name` when it is not a whole number >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise EdgeSdkError(f"{name} must be a positive whole number, got {value!r}")
    return int(value)


def positive_number(name: str, value) -> float:
    """`value` as a float, or an EdgeSdkError naming `name` when it is not a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise EdgeSdkError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)

"""Metrics and split-conformal upper bounds in log-runtime space.

MAPE = mean |t / t_hat - 1|; tightness = mean |exp(y - y_upper) - 1| = mean |t / t_upper - 1|; coverage =
mean(y <= y_upper) (PAPERS.md, Pitot). A bound is a quantile head plus a margin: the head is chosen on the
validation split, the margin is computed on the calibration split alone, so the split-conformal guarantee
P(y <= y_upper) >= 1 - alpha holds for exchangeable test rows.
"""
from __future__ import annotations

import math

import numpy as np

from edge_sdk.errors import EdgeSdkError


def mape(t: np.ndarray, t_hat: np.ndarray) -> float:
    return float(np.mean(np.abs(t / t_hat - 1.0)))


def tightness(y: np.ndarray, y_upper: np.ndarray) -> float:
    return float(np.mean(np.abs(np.exp(y - y_upper) - 1.0)))


def coverage(y: np.ndarray, y_upper: np.ndarray) -> float:
    return float(np.mean(y <= y_upper))


def conformal_margin(residuals: np.ndarray, alpha: float) -> float:
    """The ceil((1 - alpha)(n + 1))-th smallest residual (y - y_hat); +inf when n is too small for alpha."""
    if not 0.0 < alpha < 1.0:
        raise EdgeSdkError(f"alpha (miscoverage) must lie strictly between 0 and 1, got {alpha}")
    n = len(residuals)
    k = math.ceil((1.0 - alpha) * (n + 1))
    if k > n:
        return math.inf
    return float(np.sort(residuals)[k - 1])


def choose_head(val_residuals: np.ndarray, heads: list[int], alpha: float) -> int:
    """The head whose conformal bound is tightest on the validation split (residuals y - y_hat per head)."""
    best, best_width = heads[0], math.inf
    for h in heads:
        margin = conformal_margin(val_residuals[:, h], alpha)
        if math.isfinite(margin):
            width = float(np.mean(np.abs(np.exp(val_residuals[:, h] - margin) - 1.0)))
            if width < best_width:
                best, best_width = h, width
    return best

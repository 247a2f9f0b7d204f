"""Checks of the training data shared by the host learners and the on-device task builder: each failure is one
EdgeSdkError that names the array and what it should hold."""
from __future__ import annotations

import numpy as np

from edge_sdk.errors import EdgeSdkError


def features(X, name: str = "X", dtype=np.float64) -> np.ndarray:
    """X as a finite (samples, features) array of `dtype` (not copied when it already is one)."""
    try:
        X = np.asarray(X, dtype=dtype)
    except (TypeError, ValueError):
        raise EdgeSdkError(f"{name} must hold numbers (samples x features)") from None
    if X.ndim != 2 or 0 in X.shape:
        raise EdgeSdkError(f"{name} must be 2-D (samples, features) with at least one of each, got shape {X.shape}")
    if not np.isfinite(X.sum(dtype=np.float64)):  # a NaN or inf makes the sum one; no mask of X's size unless
        bad = ~np.isfinite(X)
        row, col = np.argwhere(bad)[0]
        raise EdgeSdkError(f"{name} holds {int(bad.sum())} NaN or infinite value(s) (the first at row {row}, "
                           f"column {col}): drop or impute them before training")
    return X


def labels(y, n: int, name: str = "y") -> np.ndarray:
    """y as int64 class labels >= 0, one per row of an n-row X."""
    y = np.asarray(y)
    if y.shape != (n,):
        raise EdgeSdkError(f"{name} must hold one label per row of X: expected shape ({n},), got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        hint = " (they are whole numbers: convert them with .astype(int))" if \
            np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0) else ""
        raise EdgeSdkError(f"{name} must hold integer class labels 0..K-1, got {y.dtype} values{hint}")
    if y.min() < 0:
        raise EdgeSdkError(f"{name} must hold class labels 0..K-1, got {y.min()}")
    return y.astype(np.int64)

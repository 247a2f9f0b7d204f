"""Train, evaluate and compare runtime predictors on one split: what `edge-sdk runtime` and the benchmark run."""
from __future__ import annotations

import difflib
import time

import numpy as np

from edge_sdk.errors import EdgeSdkError
from edge_sdk.runtime_prediction import data
from edge_sdk.runtime_prediction.conformal import coverage, mape, tightness
from edge_sdk.runtime_prediction.estimator import RuntimePredictor, design_matrix
from edge_sdk.runtime_prediction.mf import tuned_matrix_factorization

ALPHAS = (0.01, 0.05, 0.1, 0.2)
METHODS = {
    "pitot": dict(model="pitot"),
    "pitot-no-interference": dict(model="pitot", interference=False),
    "pitot-no-side-features": dict(model="pitot", side_features=False),
    "mlp": dict(model="mlp"),
    "attention": dict(model="attention"),
    "matrix-factorization": None,
}


def xy(rows: data.Rows) -> tuple[np.ndarray, np.ndarray]:
    return design_matrix(rows.workload, rows.platform, rows.interferers), rows.t


def fit_method(method: str, ds: data.Dataset, splits: data.Splits, seed: int = 0, steps: int = 6000,
               progress=None):
    if method not in METHODS:
        raise EdgeSdkError(f"unknown method '{method}'; choose one of: {', '.join(METHODS)}")
    X, y = xy(ds.rows)
    sets = dict(tables=ds.tables, eval_set=(X[splits.val], y[splits.val]),
                calibration_set=(X[splits.cal], y[splits.cal]))
    if METHODS[method] is None:
        return tuned_matrix_factorization(X[splits.train], y[splits.train], seed=seed, **sets)
    est = RuntimePredictor(**METHODS[method], steps=steps, seed=seed, progress=progress)
    return est.fit(X[splits.train], y[splits.train], **sets)


def metrics(est, X: np.ndarray, y: np.ndarray, alphas=ALPHAS) -> dict:
    """MAPE and, per alpha, coverage and tightness of the bounds — overall and split by solo/co-located."""
    if len(y) == 0:
        raise EdgeSdkError("no rows to evaluate")
    solo = (X[:, 2:] < 0).all(1) if X.shape[1] > 2 else np.ones(len(y), bool)
    pred = est.predict(X)
    out = {"n": int(len(y)), "n_solo": int(solo.sum()), "n_interference": int((~solo).sum()),
           "mape": mape(y, pred),
           "mape_solo": mape(y[solo], pred[solo]) if solo.any() else None,
           "mape_interference": mape(y[~solo], pred[~solo]) if (~solo).any() else None, "bounds": []}
    ly = np.log(y)
    for alpha in alphas:
        try:
            lu = np.log(est.predict_bound(X, alpha))
        except EdgeSdkError as err:  # e.g. too few calibration rows for this alpha
            out["bounds"].append({"alpha": alpha, "coverage": None, "tightness": None, "unavailable": str(err)})
            continue
        b = {"alpha": alpha, "coverage": coverage(ly, lu), "tightness": tightness(ly, lu)}
        for name, sel in (("solo", solo), ("interference", ~solo)):
            if sel.any():
                b[f"coverage_{name}"], b[f"tightness_{name}"] = coverage(ly[sel], lu[sel]), tightness(ly[sel], lu[sel])
        out["bounds"].append(b)
    return out


def run(method: str, ds: data.Dataset, train_fraction: float, seed: int, steps: int) -> dict:
    splits = data.split(len(ds.rows), train_fraction, seed)
    start = time.perf_counter()
    est = fit_method(method, ds, splits, seed=seed, steps=steps)
    X, y = xy(ds.rows)
    return {"method": method, "train_fraction": train_fraction, "seed": seed, "steps": steps,
            "fit_seconds": time.perf_counter() - start, **metrics(est, X[splits.test], y[splits.test])}


def lookup(names: np.ndarray, name: str, what: str) -> int:
    hits = np.flatnonzero(names == name)
    if len(hits) == 0:
        close = difflib.get_close_matches(name, [str(n) for n in names], n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise EdgeSdkError(f"unknown {what} '{name}'{hint} (the model knows {len(names)} {what}s)")
    return int(hits[0])

"""What the `edge-sdk runtime` subcommands do (cli.py only parses their arguments)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from tqdm import tqdm

from edge_sdk import data as shipped
from edge_sdk.errors import EdgeSdkError, positive_int
from edge_sdk.runtime_prediction import data
from edge_sdk.runtime_prediction.estimator import RuntimePredictor, design_matrix
from edge_sdk.runtime_prediction.experiment import ALPHAS, fit_method, lookup, metrics, xy


def shipped_measurements(data_path: str | None) -> str:
    """`data_path`, or the Pitot measurements of the data directory (edge_sdk/data or $EDGE_SDK_DATA)."""
    return data_path or str(shipped.root() / "pitot")


def train(data_path: str | None, output: str, train_fraction: float = 0.9, seed: int = 0, steps: int = 6000,
          model: str = "pitot") -> dict:
    positive_int("--steps", steps)
    data_path = shipped_measurements(data_path)
    ds = data.load(data_path)
    splits = data.split(len(ds.rows), train_fraction, seed)
    with tqdm(total=steps, desc=f"training {model}", unit="step", leave=False) as bar:
        def progress(step, total, val):
            bar.update(step - bar.n)
            bar.set_postfix(val_mse=f"{val:.4f}")
        est = fit_method(model, ds, splits, seed=seed, steps=steps, progress=progress)
    X, y = xy(ds.rows)
    result = metrics(est, X[splits.test], y[splits.test])
    est.meta_ = {"data": str(data_path), "rows": len(ds.rows), "train_fraction": train_fraction, "seed": seed}
    tmp = Path(f"{output}.{os.getpid()}.tmp")
    est.save(tmp)
    os.replace(tmp, output)
    return result


def evaluate(model_path: str, data_path: str | None, held_out: bool = False, alphas=ALPHAS) -> dict:
    data_path = shipped_measurements(data_path)
    est = RuntimePredictor.load(model_path)
    ds = data.load(data_path, tables=est.tables_)
    if ds.tables.n_workloads != est.tables_.n_workloads or ds.tables.n_platforms != est.tables_.n_platforms:
        raise EdgeSdkError(f"'{data_path}' describes {ds.tables.n_workloads} workloads x {ds.tables.n_platforms} "
                           f"platforms, the model {est.tables_.n_workloads} x {est.tables_.n_platforms}: its "
                           "indices must refer to the model's tables")
    X, y = xy(ds.rows)
    if held_out:
        meta = est.meta_
        if meta.get("rows") != len(y):
            raise EdgeSdkError("--held-out needs the dataset the model was trained on (same rows); "
                               f"the model saw {meta.get('rows')} rows, '{data_path}' has {len(y)}")
        test = data.split(len(y), meta["train_fraction"], meta["seed"]).test
        X, y = X[test], y[test]
    return {"model": str(model_path), "data": str(data_path), "held_out": held_out, **metrics(est, X, y, alphas)}


def predict(model_path: str, workload: str, platform: str, others: list[str], alpha: float) -> dict:
    est = RuntimePredictor.load(model_path)
    t = est.tables_
    w, p = lookup(t.n_workload, workload, "workload"), lookup(t.n_platform, platform, "platform")
    inter = np.array([[lookup(t.n_workload, o, "workload") for o in others]], dtype=np.int64) if others else None
    X = design_matrix(np.array([w]), np.array([p]), inter)
    return {"workload": workload, "platform": platform, "co_located": others,
            "predicted_runtime": float(est.predict(X)[0]), "alpha": alpha,
            "upper_bound": float(est.predict_bound(X, alpha)[0])}

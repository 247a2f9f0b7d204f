"""`RuntimePredictor`: an estimator of the scikit-learn shape over the networks of `networks.py`.

X is an integer array with one row per query: [workload, platform, interferer_0, ..., interferer_k-1]
(-1 = no interferer), indices into the side-feature tables given to `fit`. y is the runtime (> 0).

    est = RuntimePredictor(model="pitot").fit(X, y, tables=tables, eval_set=(Xv, yv), calibration_set=(Xc, yc))
    # a scikit-learn estimator: get_params / set_params / sklearn.base.clone; without eval_set, fit holds out
    # validation_fraction of (X, y) for early stopping
    est.predict(X)               # runtimes
    est.predict_bound(X, 0.1)    # upper bounds that hold with probability >= 0.9
    est.score(X, y)              # 1 - MAPE
"""
from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator
from torch.nn import functional as F

from edge_sdk.errors import EdgeSdkError, positive_int, positive_number
from edge_sdk.runtime_prediction.conformal import choose_head, conformal_margin, mape
from edge_sdk.runtime_prediction.data import Tables
from edge_sdk.runtime_prediction.networks import AttentionNet, MLPNet, PitotNet

QUANTILES = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)
MODELS = ("pitot", "mlp", "attention")
INTERFERENCE_WEIGHT = 0.5
FORMAT = "edge-sdk-runtime-predictor-1"
MODEL_KEYS = ("params", "y_mean", "y_std", "baseline", "state", "tables", "val_residuals", "cal_residuals")
TABLE_KEYS = ("d_platform", "d_workload", "n_platform", "n_workload")


def design_matrix(workload: np.ndarray, platform: np.ndarray, interferers: np.ndarray | None = None) -> np.ndarray:
    cols = [np.asarray(workload)[:, None], np.asarray(platform)[:, None]]
    if interferers is not None and np.asarray(interferers).size:
        cols.append(np.asarray(interferers))
    return np.concatenate(cols, axis=1).astype(np.int64)


def linear_scaling(y: np.ndarray, workload: np.ndarray, platform: np.ndarray, n_w: int, n_p: int,
                   iterations: int = 20) -> np.ndarray:
    """Rank-1 baseline in log space, y ~ a_workload + b_platform, fitted by alternating means; items never
    seen in training get the mean term. Returns the (n_w, n_p) table of a + b."""
    a, b = np.zeros(n_w), np.zeros(n_p)
    for _ in range(iterations):
        sums, counts = np.bincount(workload, y - b[platform], n_w), np.bincount(workload, minlength=n_w)
        a = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
        a[counts == 0] = a[counts > 0].mean()
        sums, counts = np.bincount(platform, y - a[workload], n_p), np.bincount(platform, minlength=n_p)
        b = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
        b[counts == 0] = b[counts > 0].mean()
    return a[:, None] + b[None, :]


def _zscore(d: np.ndarray) -> np.ndarray:
    d = np.asarray(d, dtype=np.float64)
    return (d - d.mean(0)) / np.where(d.std(0) > 1e-8, d.std(0), 1.0)


def check_X(X, tables: Tables) -> np.ndarray:
    """X as an int64 design matrix whose indices name rows of `tables` (-1 = no interferer)."""
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] < 2 or not np.issubdtype(X.dtype, np.integer):
        raise EdgeSdkError(f"X must be an integer array of shape (n, 2 + k) = [workload, platform, "
                           f"interferers...], got shape {X.shape} and dtype {X.dtype}")
    for col, n, what in ((0, tables.n_workloads, "workload"), (1, tables.n_platforms, "platform")):
        bad = (X[:, col] < 0) | (X[:, col] >= n)
        if bad.any():
            raise EdgeSdkError(f"X[:, {col}] holds {what} indices in 0..{n - 1}; row "
                               f"{int(np.flatnonzero(bad)[0])} has {X[bad][0, col]}")
    if X.shape[1] > 2 and ((X[:, 2:] < -1) | (X[:, 2:] >= tables.n_workloads)).any():
        raise EdgeSdkError(f"interferer indices must be -1 (none) or lie in 0..{tables.n_workloads - 1}")
    return X.astype(np.int64)


def check_y(y, n: int) -> np.ndarray:
    """y as positive, finite float64 runtimes, one per row of an n-row X."""
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (n,):
        raise EdgeSdkError(f"y must hold one runtime per row of X: expected shape ({n},), got {y.shape}")
    if not (np.isfinite(y) & (y > 0)).all():
        raise EdgeSdkError("runtimes in y must be positive and finite")
    return y


class RuntimePredictor(BaseEstimator):
    def __init__(self, model: str = "pitot", interference: bool = True, side_features: bool = True,
                 rank: int = 32, steps: int = 6000, batch_size: int = 512, lr: float = 1e-3,
                 weight_decay: float = 1e-4, eval_every: int = 200, validation_fraction: float = 0.1,
                 seed: int = 0, progress=None):
        self.model, self.interference, self.side_features = model, interference, side_features
        self.rank, self.steps, self.batch_size, self.lr = rank, steps, batch_size, lr
        self.weight_decay, self.eval_every, self.validation_fraction = weight_decay, eval_every, validation_fraction
        self.seed, self.progress = seed, progress

    def _validate(self) -> None:
        """The hyperparameters, checked when training starts (scikit-learn's convention)."""
        if self.model not in MODELS:
            raise EdgeSdkError(f"unknown model '{self.model}'; choose one of: {', '.join(MODELS)}")
        if not self.side_features and self.model != "pitot":
            raise EdgeSdkError("side_features=False is the Pitot ablation; the MLP and attention models need features")
        for name in ("rank", "steps", "batch_size", "eval_every"):
            positive_int(name, getattr(self, name))
        positive_number("lr", self.lr)
        if not 0 <= self.weight_decay < math.inf:
            raise EdgeSdkError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if not 0 < self.validation_fraction < 1:
            raise EdgeSdkError(f"validation_fraction must lie strictly between 0 and 1, got {self.validation_fraction}")

    def _check_X(self, X, tables: Tables) -> torch.Tensor:
        return torch.as_tensor(check_X(X, tables), dtype=torch.long)

    # ------------------------------------------------------------------ model
    def _build(self, tables: Tables, baseline: np.ndarray) -> torch.nn.Module:
        heads = 1 + len(QUANTILES)
        wf = torch.tensor(_zscore(tables.d_workload), dtype=torch.float32)
        pf = torch.tensor(_zscore(tables.d_platform), dtype=torch.float32)
        if self.model == "pitot":
            free = 4
            if not self.side_features:
                wf, pf, free = wf[:, :0], pf[:, :0], self.rank
            base = torch.tensor((baseline - self.y_mean_) / self.y_std_, dtype=torch.float32)
            return PitotNet(wf, pf, base, heads, rank=self.rank, free=free, interference=self.interference)
        if self.model == "mlp":
            return MLPNet(wf, pf, heads)
        return AttentionNet(wf, pf, heads)

    def _forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.net_(X[:, 0], X[:, 1], X[:, 2:])

    @staticmethod
    def _loss(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        err = y.unsqueeze(1) - pred
        tau = torch.tensor(QUANTILES, dtype=pred.dtype)
        pinball = torch.maximum(tau * err[:, 1:], (tau - 1) * err[:, 1:]).mean(0).sum()
        return F.mse_loss(pred[:, 0], y) + pinball

    def fit(self, X, y, *, tables: Tables, eval_set: tuple | None = None, calibration_set: tuple | None = None):
        """Train on (X, y); early-stop on eval_set (also used to choose each bound's quantile head; without one,
        `validation_fraction` of the rows are held out for it); compute the conformal margins on
        calibration_set only (without one the model has no bounds)."""
        self._validate()
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        self.tables_ = tables
        X = check_X(X, tables)
        y = check_y(y, len(X))
        if eval_set is None:
            perm = rng.permutation(len(X))
            n_val = int(round(self.validation_fraction * len(X)))
            if not 1 <= n_val < len(X):
                raise EdgeSdkError(f"{len(X)} rows are too few to hold out a validation split of "
                                   f"{self.validation_fraction:.0%}: give eval_set= or more rows")
            eval_set = (X[perm[:n_val]], y[perm[:n_val]])
            X, y = X[perm[n_val:]], y[perm[n_val:]]
        Xt = self._check_X(X, tables)
        yt = np.log(y)
        Xv = self._check_X(eval_set[0], tables)
        yv = np.log(check_y(eval_set[1], len(Xv)))
        self.y_mean_, self.y_std_ = float(yt.mean()), float(yt.std())
        solo = (Xt[:, 2:] < 0).all(1).numpy() if Xt.shape[1] > 2 else np.ones(len(Xt), bool)
        baseline = linear_scaling(yt[solo], Xt[solo, 0].numpy(), Xt[solo, 1].numpy(),
                                  tables.n_workloads, tables.n_platforms)
        self.baseline_ = baseline
        self.net_ = self._build(tables, baseline)
        ytn = torch.tensor((yt - self.y_mean_) / self.y_std_, dtype=torch.float32)
        yvn = torch.tensor((yv - self.y_mean_) / self.y_std_, dtype=torch.float32)
        groups = [np.flatnonzero(solo), np.flatnonzero(~solo)]
        weights = [1.0, INTERFERENCE_WEIGHT]
        opt = torch.optim.AdamW(self.net_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        best, best_state, self.history_ = math.inf, None, []
        for step in range(1, self.steps + 1):
            self.net_.train()
            # One forward pass over a batch from each objective (solo runs, co-located runs): the towers run
            # once per step.
            parts = [idx[rng.integers(0, len(idx), size=self.batch_size)] for idx in groups if len(idx)]
            part_weights = [w for idx, w in zip(groups, weights) if len(idx)]
            batch = torch.as_tensor(np.concatenate(parts))
            pred, target = self._forward(Xt[batch]), ytn[batch]
            loss = sum(w * self._loss(pred[k * self.batch_size:(k + 1) * self.batch_size],
                                      target[k * self.batch_size:(k + 1) * self.batch_size])
                       for k, w in enumerate(part_weights))
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % self.eval_every == 0 or step == self.steps:
                with torch.no_grad():
                    self.net_.eval()
                    val = float(F.mse_loss(self._forward(Xv)[:, 0], yvn))
                self.history_.append((step, float(loss.detach()), val))
                if val < best:
                    best, best_state = val, copy.deepcopy(self.net_.state_dict())
                if self.progress:
                    self.progress(step, self.steps, val)
        self.net_.load_state_dict(best_state)
        self.net_.eval()
        self.val_residuals_ = yv[:, None] - self._log_predict(Xv)
        self.cal_residuals_ = None
        if calibration_set is not None:
            Xc = self._check_X(calibration_set[0], tables)
            yc = np.log(check_y(calibration_set[1], len(Xc)))
            self.cal_residuals_ = yc[:, None] - self._log_predict(Xc)
        return self

    # ------------------------------------------------------------------ prediction
    def _log_predict(self, X: torch.Tensor) -> np.ndarray:
        """(n, heads) predictions in log space."""
        with torch.no_grad():
            out = [self._forward(X[i:i + 8192]) for i in range(0, len(X), 8192)]
        return torch.cat(out).double().numpy() * self.y_std_ + self.y_mean_

    def _fitted(self) -> None:
        if not hasattr(self, "net_"):
            raise EdgeSdkError("this RuntimePredictor is not fitted yet: call fit() or load a trained model")

    def predict(self, X) -> np.ndarray:
        self._fitted()
        return np.exp(self._log_predict(self._check_X(X, self.tables_))[:, 0])

    def bound_head(self, alpha: float) -> tuple[int, float]:
        """(quantile head, log-space margin) of the upper bound with miscoverage alpha."""
        self._fitted()
        if self.cal_residuals_ is None:
            raise EdgeSdkError("this model was fitted without a calibration set, so it has no bounds")
        head = choose_head(self.val_residuals_, list(range(1, 1 + len(QUANTILES))), alpha)
        margin = conformal_margin(self.cal_residuals_[:, head], alpha)
        if not math.isfinite(margin):
            raise EdgeSdkError(f"alpha = {alpha} needs more than {len(self.cal_residuals_)} calibration rows; "
                               "use a larger alpha or more training data")
        return head, margin

    def predict_bound(self, X, alpha: float = 0.1) -> np.ndarray:
        """Upper bounds on the runtime that hold with probability >= 1 - alpha (split conformal)."""
        head, margin = self.bound_head(alpha)
        return np.exp(self._log_predict(self._check_X(X, self.tables_))[:, head] + margin)

    def score(self, X, y) -> float:
        """1 - MAPE (higher is better, as scikit-learn scores are)."""
        return 1.0 - mape(check_y(y, len(np.asarray(X))), self.predict(X))

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> None:
        self._fitted()
        t = self.tables_
        torch.save({
            "format": FORMAT,
            "params": {k: v for k, v in self.get_params().items() if k != "progress"},
            "y_mean": self.y_mean_, "y_std": self.y_std_,
            "baseline": torch.tensor(self.baseline_),
            "state": self.net_.state_dict(),
            "tables": {"d_platform": torch.tensor(t.d_platform), "d_workload": torch.tensor(t.d_workload),
                       "n_platform": [str(s) for s in t.n_platform], "n_workload": [str(s) for s in t.n_workload]},
            "val_residuals": torch.tensor(self.val_residuals_),
            "cal_residuals": None if self.cal_residuals_ is None else torch.tensor(self.cal_residuals_),
            "meta": getattr(self, "meta_", {}),
        }, path)

    @classmethod
    def load(cls, path: str | Path) -> "RuntimePredictor":
        try:
            blob = torch.load(path, weights_only=True)
        except FileNotFoundError:
            raise EdgeSdkError(f"model file '{path}' does not exist; train one with `edge-sdk runtime train`") \
                from None
        except Exception as err:  # torch raises several types for a file that is not a checkpoint
            raise EdgeSdkError(f"'{path}' is not an edge-sdk runtime model ({type(err).__name__})") from None
        if not isinstance(blob, dict) or blob.get("format") != FORMAT:
            raise EdgeSdkError(f"'{path}' is not an edge-sdk runtime model")
        missing = [k for k in MODEL_KEYS if k not in blob] + \
            [f"tables.{k}" for k in TABLE_KEYS if k not in (blob.get("tables") or {})]
        if missing:
            raise EdgeSdkError(f"'{path}' is an incomplete edge-sdk runtime model (it lacks {', '.join(missing)}): "
                               "train it again with `edge-sdk runtime train`")
        try:
            est = cls(**blob["params"])
            est._validate()
            tb = blob["tables"]
            est.tables_ = Tables(tb["d_platform"].numpy(), tb["d_workload"].numpy(), np.array(tb["n_platform"]),
                                 np.array(tb["n_workload"]))
            est.y_mean_, est.y_std_ = blob["y_mean"], blob["y_std"]
            est.baseline_ = blob["baseline"].numpy()
            est.net_ = est._build(est.tables_, est.baseline_)
            est.net_.load_state_dict(blob["state"])
        except (TypeError, ValueError, RuntimeError, AttributeError, EdgeSdkError) as err:
            raise EdgeSdkError(f"'{path}' is a damaged edge-sdk runtime model ({type(err).__name__}: "
                               f"{str(err).splitlines()[0][:200]}): train it again with `edge-sdk runtime train`") \
                from None
        est.net_.eval()
        est.val_residuals_ = blob["val_residuals"].numpy()
        est.cal_residuals_ = None if blob["cal_residuals"] is None else blob["cal_residuals"].numpy()
        est.meta_ = blob.get("meta", {})
        return est

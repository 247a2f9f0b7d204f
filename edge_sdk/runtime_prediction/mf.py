"""Matrix-factorisation baseline without side information: log t ~ mu + a_workload + b_platform + <u, v>,
fitted by regularised alternating least squares on the solo runs (co-located runs are predicted as solo;
the model has no interference term). Same estimator interface and the same conformal bounds (one head)."""
from __future__ import annotations

import math

import numpy as np

from sklearn.base import BaseEstimator

from edge_sdk.errors import EdgeSdkError, positive_int, positive_number
from edge_sdk.runtime_prediction.conformal import conformal_margin, mape
from edge_sdk.runtime_prediction.data import Tables
from edge_sdk.runtime_prediction.estimator import check_X, check_y


class MatrixFactorization(BaseEstimator):
    def __init__(self, rank: int = 8, reg: float = 1.0, iterations: int = 30, seed: int = 0):
        self.rank, self.reg, self.iterations, self.seed = rank, reg, iterations, seed

    def _solve(self, rows, cols, values, other, n, bias_other):
        """Ridge solution of [1, u_i] for each i given the other side's factors (bias column included)."""
        k = self.rank + 1
        out = np.zeros((n, k))
        design_all = np.concatenate([np.ones((len(other), 1)), other], axis=1)
        order = np.argsort(rows, kind="stable")
        bounds = np.searchsorted(rows[order], np.arange(n + 1))
        penalty = self.reg * np.eye(k)
        penalty[0, 0] = 1e-6
        for i in range(n):
            sel = order[bounds[i]:bounds[i + 1]]
            if len(sel) == 0:
                continue
            A = design_all[cols[sel]]
            target = values[sel] - bias_other[cols[sel]]
            out[i] = np.linalg.solve(A.T @ A + penalty, A.T @ target)
        return out[:, 0], out[:, 1:]

    def fit(self, X, y, *, tables: Tables, eval_set=None, calibration_set=None):
        """ALS on the solo rows of (X, y); eval_set is not used (the model has no early stopping); the conformal
        margin comes from calibration_set."""
        positive_int("rank", self.rank)
        positive_number("reg", self.reg)
        positive_int("iterations", self.iterations)
        X = check_X(X, tables)
        y = np.log(check_y(y, len(X)))
        self.tables_ = tables
        w, p = X[:, 0], X[:, 1]
        solo = (X[:, 2:] < 0).all(1) if X.shape[1] > 2 else np.ones(len(X), bool)
        w, p, y = w[solo], p[solo], y[solo]
        rng = np.random.default_rng(self.seed)
        nw, np_ = tables.n_workloads, tables.n_platforms
        self.mu_ = float(y.mean())
        r = y - self.mu_
        self.a_, self.b_ = np.zeros(nw), np.zeros(np_)
        self.U_, self.V_ = rng.normal(0, 0.1, (nw, self.rank)), rng.normal(0, 0.1, (np_, self.rank))
        for _ in range(self.iterations):
            self.a_, self.U_ = self._solve(w, p, r, self.V_, nw, self.b_)
            self.b_, self.V_ = self._solve(p, w, r, self.U_, np_, self.a_)
        self.cal_residuals_ = None
        if calibration_set is not None:
            Xc = check_X(calibration_set[0], tables)
            self.cal_residuals_ = np.log(check_y(calibration_set[1], len(Xc))) - np.log(self.predict(Xc))
        return self

    def predict(self, X) -> np.ndarray:
        if not hasattr(self, "mu_"):
            raise EdgeSdkError("this MatrixFactorization is not fitted yet: call fit() first")
        X = check_X(X, self.tables_)
        w, p = X[:, 0], X[:, 1]
        return np.exp(self.mu_ + self.a_[w] + self.b_[p] + (self.U_[w] * self.V_[p]).sum(1))

    def predict_bound(self, X, alpha: float = 0.1) -> np.ndarray:
        if self.cal_residuals_ is None:
            raise EdgeSdkError("this model was fitted without a calibration set, so it has no bounds")
        margin = conformal_margin(self.cal_residuals_, alpha)
        if not math.isfinite(margin):
            raise EdgeSdkError(f"alpha = {alpha} needs more calibration rows")
        return self.predict(X) * math.exp(margin)

    def score(self, X, y) -> float:
        """1 - MAPE."""
        return 1.0 - mape(check_y(y, len(np.asarray(X))), self.predict(X))


def tuned_matrix_factorization(X, y, *, tables: Tables, eval_set, calibration_set=None, seed: int = 0,
                               ranks=(4, 8, 16, 32), regs=(0.1, 1.0, 10.0)) -> MatrixFactorization:
    """Grid over rank and regularisation, chosen by validation MAPE (the tuning budget of this baseline)."""
    best, best_mape = None, math.inf
    for rank in ranks:
        for reg in regs:
            m = MatrixFactorization(rank, reg, seed=seed).fit(X, y, tables=tables)
            err = 1.0 - m.score(*eval_set)
            if err < best_mape:
                best, best_mape = (rank, reg), err
    return MatrixFactorization(*best, seed=seed).fit(X, y, tables=tables, calibration_set=calibration_set)

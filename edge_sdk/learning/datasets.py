"""The learning tasks: real data shipped in ../shared/data/ and scikit-learn's offline `load_digits`.
Every loader returns float features scaled to about [0, 1] (images) or z-scored (ECG) and int64 labels."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from edge_sdk.errors import EdgeSdkError

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
DATASETS = ("digits", "mnist", "fashion", "cifar10", "ecg200", "ecg5000")
IMAGE_SHAPES = {"digits": (8, 8, 1), "mnist": (28, 28, 1), "fashion": (28, 28, 1), "cifar10": (32, 32, 3)}  # HWC


def _npz(path: Path) -> dict:
    if not path.exists():
        raise EdgeSdkError(f"dataset file '{path}' is missing (the shared data directory is expected next to the "
                           "repository)")
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def _split(x, y, test_fraction: float, seed: int):
    perm = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    return x[perm[n_test:]], y[perm[n_test:]], x[perm[:n_test]], y[perm[:n_test]]


def load(name: str, seed: int = 0):
    """(x_train, y_train, x_test, y_test) of a named task."""
    if name == "digits":
        from sklearn.datasets import load_digits
        d = load_digits()
        return _split(d.data / 16.0, d.target.astype(np.int64), 0.2, seed)
    if name in ("mnist", "fashion", "cifar10"):
        file = {"mnist": "mnist.npz", "fashion": "fashion_mnist_subset.npz", "cifar10": "cifar10_subset.npz"}[name]
        d = _npz(SHARED / "images" / file)
        flat = lambda a: a.reshape(len(a), -1).astype(np.float64) / 255.0  # noqa: E731
        return flat(d["x_train"]), d["y_train"].astype(np.int64), flat(d["x_test"]), d["y_test"].astype(np.int64)
    if name == "ecg200":
        d = _npz(SHARED / "ecg" / "ecg200.npz")
        return d["x_train"].astype(np.float64), d["y_train"], d["x_test"].astype(np.float64), d["y_test"]
    if name == "ecg5000":
        d = _npz(SHARED / "ecg" / "ecg5000_train_only.npz")
        return _split(d["x_train"].astype(np.float64), d["y_train"], 0.3, seed)
    raise EdgeSdkError(f"unknown dataset '{name}'; choose one of: {', '.join(DATASETS)}")

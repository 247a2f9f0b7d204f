"""The learning tasks: real data shipped in edge_sdk/data/ (images/, ecg/; `data` or $EDGE_SDK_DATA may name
another directory of the same layout) and scikit-learn's offline `load_digits`. Every loader returns float
features scaled to about [0, 1] (images) or z-scored (ECG) and int64 labels."""
from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from edge_sdk import data as shipped
from edge_sdk.errors import EdgeSdkError

DATASETS = ("digits", "mnist", "fashion", "cifar10", "ecg200", "ecg5000")
IMAGE_SHAPES = {"digits": (8, 8, 1), "mnist": (28, 28, 1), "fashion": (28, 28, 1), "cifar10": (32, 32, 3)}  # HWC
FILES = {"mnist": "images/mnist.npz", "fashion": "images/fashion_mnist_subset.npz",
         "cifar10": "images/cifar10_subset.npz", "ecg200": "ecg/ecg200.npz", "ecg5000": "ecg/ecg5000_train_only.npz"}


def _npz(path: Path, keys: tuple[str, ...]) -> dict:
    where = (f"the SDK ships it in {shipped.SHIPPED}; --data or ${shipped.ENV} may name another directory "
             "with images/ and ecg/ folders")
    if not path.exists():
        raise EdgeSdkError(f"dataset file '{path}' is missing ({where})")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in keys if k not in f.files]
            if missing:
                raise EdgeSdkError(f"dataset file '{path}' lacks the array(s) {', '.join(missing)} ({where})")
            return {k: f[k] for k in keys}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise EdgeSdkError(f"dataset file '{path}' is not a readable npz file ({type(err).__name__}: {err}); "
                           f"it is damaged or truncated: restore it ({where})") from None


def _split(x, y, test_fraction: float, seed: int):
    perm = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    return x[perm[n_test:]], y[perm[n_test:]], x[perm[:n_test]], y[perm[:n_test]]


def load(name: str, seed: int = 0, data: str | Path | None = None):
    """(x_train, y_train, x_test, y_test) of a named task, read from `data` (see `edge_sdk.data.root`)."""
    if name == "digits":
        from sklearn.datasets import load_digits
        d = load_digits()
        return _split(d.data / 16.0, d.target.astype(np.int64), 0.2, seed)
    if name not in FILES:
        raise EdgeSdkError(f"unknown dataset '{name}'; choose one of: {', '.join(DATASETS)}")
    path = shipped.root(data) / FILES[name]
    if name == "ecg5000":
        d = _npz(path, ("x_train", "y_train"))
        return _split(d["x_train"].astype(np.float64), d["y_train"].astype(np.int64), 0.3, seed)
    d = _npz(path, ("x_train", "y_train", "x_test", "y_test"))
    scale = 255.0 if name in IMAGE_SHAPES else 1.0
    flat = lambda a: a.reshape(len(a), -1).astype(np.float64) / scale  # noqa: E731
    return flat(d["x_train"]), d["y_train"].astype(np.int64), flat(d["x_test"]), d["y_test"].astype(np.int64)

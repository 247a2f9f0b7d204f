"""The runtime-measurement format (Pitot's npz schema), loaded and validated.

A dataset is a directory holding `data.npz` (solo runs and the side-feature tables) and optionally
`if2.npz`, `if3.npz`, ... (runs co-located with 1, 2, ... other workloads), or a single npz file. Rows:
`t` (runtime, > 0), `i_platform`, `i_workload`, and `i_interference0..k-1` for co-located runs. Tables:
`d_platform` (platforms x features), `d_workload` (workloads x features), `n_platform`, `n_workload` (names),
optionally `f_platform`, `f_workload` (feature names).
"""
from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge_sdk.errors import EdgeSdkError

ROW_ARRAYS = ("t", "i_platform", "i_workload")
TABLE_ARRAYS = ("d_platform", "d_workload", "n_platform", "n_workload")


@dataclass
class Tables:
    """Side information: one row per platform / workload; the row indices are the ids used in the data."""
    d_platform: np.ndarray
    d_workload: np.ndarray
    n_platform: np.ndarray
    n_workload: np.ndarray
    f_platform: np.ndarray | None = None
    f_workload: np.ndarray | None = None

    @property
    def n_platforms(self) -> int:
        return len(self.d_platform)

    @property
    def n_workloads(self) -> int:
        return len(self.d_workload)

    def to_npz_dict(self) -> dict[str, np.ndarray]:
        d = {k: getattr(self, k) for k in TABLE_ARRAYS}
        for k in ("f_platform", "f_workload"):
            if getattr(self, k) is not None:
                d[k] = getattr(self, k)
        return d


@dataclass
class Rows:
    """Measurements: runtime `t` of workload `workload` on platform `platform` while `interferers` (−1 =
    none) run beside it. One array per column, all of the same length."""
    t: np.ndarray
    platform: np.ndarray
    workload: np.ndarray
    interferers: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))

    def __post_init__(self):
        if self.interferers.size == 0:
            self.interferers = np.full((len(self.t), 0), -1, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.t)

    @property
    def n_interferers(self) -> np.ndarray:
        return (self.interferers >= 0).sum(axis=1)

    def take(self, index: np.ndarray) -> "Rows":
        return Rows(self.t[index], self.platform[index], self.workload[index], self.interferers[index])

    @staticmethod
    def concat(parts: list["Rows"]) -> "Rows":
        width = max((p.interferers.shape[1] for p in parts), default=0)
        padded = [np.pad(p.interferers, ((0, 0), (0, width - p.interferers.shape[1])), constant_values=-1)
                  for p in parts]
        return Rows(np.concatenate([p.t for p in parts]), np.concatenate([p.platform for p in parts]),
                    np.concatenate([p.workload for p in parts]),
                    np.concatenate(padded) if parts else np.zeros((0, 0), dtype=np.int64))


@dataclass
class Dataset:
    tables: Tables | None
    rows: Rows
    source: str = ""


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except EOFError:
        raise EdgeSdkError(f"'{path}' is empty: write the measurements again (e.g. `edge-sdk runtime collect`) "
                           "or remove the file") from None
    except (OSError, ValueError, zipfile.BadZipFile, zlib.error) as err:
        raise EdgeSdkError(f"'{path}' is not a readable npz file ({type(err).__name__}: {err}); it is damaged or "
                           "truncated: write or copy it again") from None


def _rows_from(arrays: dict[str, np.ndarray], path: Path) -> Rows:
    missing = [k for k in ROW_ARRAYS if k not in arrays]
    if missing:
        raise EdgeSdkError(f"'{path}' lacks the array(s) {', '.join(missing)}; a runtime dataset needs t, "
                           "i_platform and i_workload (see edge_sdk/runtime_prediction/data.py)")
    inter_keys = sorted((k for k in arrays if re.fullmatch(r"i_interference\d+", k)), key=lambda k: int(k[14:]))
    expected = [f"i_interference{i}" for i in range(len(inter_keys))]
    if inter_keys != expected:
        raise EdgeSdkError(f"'{path}': interference arrays must be i_interference0..{len(inter_keys) - 1} "
                           f"without gaps, found {', '.join(inter_keys)}")
    if arrays["t"].ndim != 1:
        raise EdgeSdkError(f"'{path}': 't' has shape {arrays['t'].shape}; it must be 1-D, one runtime per row")
    n = len(arrays["t"])
    for k in [*ROW_ARRAYS[1:], *inter_keys]:
        if arrays[k].shape != (n,):
            raise EdgeSdkError(f"'{path}': '{k}' has shape {arrays[k].shape}, expected ({n},) like 't'")
        if not np.issubdtype(arrays[k].dtype, np.integer):
            raise EdgeSdkError(f"'{path}': '{k}' must hold integer indices, found {arrays[k].dtype}")
    t = np.asarray(arrays["t"], dtype=np.float64)
    bad = ~np.isfinite(t) | (t <= 0)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise EdgeSdkError(f"'{path}': runtimes must be positive and finite; row {first} has t = {t[first]} "
                           f"({int(bad.sum())} bad rows)")
    inter = np.stack([arrays[k].astype(np.int64) for k in inter_keys], axis=1) if inter_keys else \
        np.full((n, 0), -1, dtype=np.int64)
    return Rows(t, arrays["i_platform"].astype(np.int64), arrays["i_workload"].astype(np.int64), inter)


def _tables_from(arrays: dict[str, np.ndarray], path: Path) -> Tables | None:
    present = [k for k in TABLE_ARRAYS if k in arrays]
    if not present:
        return None
    if len(present) != len(TABLE_ARRAYS):
        missing = sorted(set(TABLE_ARRAYS) - set(present))
        raise EdgeSdkError(f"'{path}' has side-feature tables but lacks {', '.join(missing)}")
    t = Tables(*(arrays[k] for k in TABLE_ARRAYS), arrays.get("f_platform"), arrays.get("f_workload"))
    for d, n, what in ((t.d_platform, t.n_platform, "platform"), (t.d_workload, t.n_workload, "workload")):
        if d.ndim != 2 or len(n) != len(d):
            raise EdgeSdkError(f"'{path}': d_{what} must be a 2-D table with one row per name in n_{what} "
                               f"(got {d.shape} and {len(n)} names)")
        if not np.isfinite(d).all():
            raise EdgeSdkError(f"'{path}': d_{what} holds NaN or infinite features")
    return t


def validate(rows: Rows, tables: Tables, source: str) -> None:
    """Every index must name a row of the tables."""
    for what, idx, n in (("i_platform", rows.platform, tables.n_platforms),
                         ("i_workload", rows.workload, tables.n_workloads)):
        bad = (idx < 0) | (idx >= n)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise EdgeSdkError(f"{source}: {what} must lie in 0..{n - 1}; row {first} has {idx[first]}")
    inter = rows.interferers
    bad = (inter < -1) | (inter >= tables.n_workloads)
    if bad.any():
        r = int(np.flatnonzero(bad.any(axis=1))[0])
        raise EdgeSdkError(f"{source}: i_interference indices must lie in 0..{tables.n_workloads - 1}; row {r} "
                           f"has {inter[r].tolist()}")


def load(path: str | Path, tables: Tables | None = None) -> Dataset:
    """Load a dataset directory or a single npz file. `tables` (e.g. a trained model's) replaces missing
    side-feature tables; indices are validated against whichever tables apply."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.npz"))
        main = path / "data.npz"
        inter_files = sorted((p for p in files if re.fullmatch(r"if\d+\.npz", p.name)), key=lambda p: int(p.stem[2:]))
        if not main.exists() and not inter_files:
            raise EdgeSdkError(f"'{path}' holds neither data.npz nor ifN.npz files: point --data at a Pitot-format "
                               "directory or an npz file")
        parts, found_tables = [], None
        for p in ([main] if main.exists() else []) + inter_files:
            arrays = _load_npz(p)
            found_tables = found_tables or _tables_from(arrays, p)
            parts.append(_rows_from(arrays, p))
        rows = Rows.concat(parts)
    elif path.is_file():
        arrays = _load_npz(path)
        found_tables, rows = _tables_from(arrays, path), _rows_from(arrays, path)
    else:
        raise EdgeSdkError(f"dataset '{path}' does not exist")
    use = found_tables if found_tables is not None else tables
    if use is None:
        raise EdgeSdkError(f"'{path}' has no side-feature tables (d_platform, d_workload, ...): train on a "
                           "directory whose data.npz holds them")
    validate(rows, use, f"'{path}'")
    return Dataset(use, rows, str(path))


@dataclass
class Splits:
    train: np.ndarray
    val: np.ndarray
    cal: np.ndarray
    test: np.ndarray


def split(n: int, train_fraction: float, seed: int) -> Splits:
    """Row indices: `train_fraction` of the rows form the fitting pool, the rest is the test set. The pool
    is cut 85% / 5% / 10% into training, validation (early stopping and head selection) and calibration (the
    conformal margins and nothing else), so the bounds' coverage guarantee holds on the test set."""
    if not 0.0 < train_fraction < 1.0:
        raise EdgeSdkError(f"--train-fraction must lie strictly between 0 and 1, got {train_fraction}")
    perm = np.random.default_rng(seed).permutation(n)
    n_pool = int(round(train_fraction * n))
    pool, test = perm[:n_pool], perm[n_pool:]
    n_val, n_cal = int(round(0.05 * n_pool)), int(round(0.10 * n_pool))
    if min(n_val, n_cal, len(test), n_pool - n_val - n_cal) < 1:
        raise EdgeSdkError(f"{n} rows are too few to split with train fraction {train_fraction}")
    return Splits(pool[n_val + n_cal:], pool[:n_val], pool[n_val:n_val + n_cal], test)

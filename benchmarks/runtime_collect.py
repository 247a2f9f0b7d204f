"""Collect our own WebAssembly runtime measurements on this machine (every runtime available here, solo and
co-located) into benchmarks/results/wasm_measurements/, then train Pitot and the matrix-factorisation baseline
on them and report held-out MAPE and bound coverage. Run it on an otherwise idle machine: the measurements
are wall-clock times (the load average of each run is recorded beside it)."""
from __future__ import annotations

import argparse

from common import RESULTS, write_result

from edge_sdk.runtime_prediction import collect, data
from edge_sdk.runtime_prediction.experiment import fit_method, metrics, xy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-minutes", type=float, default=30)
    parser.add_argument("--train-fraction", type=float, default=0.7)
    parser.add_argument("--steps", type=int, default=1500)
    args = parser.parse_args()
    out = RESULTS / "wasm_measurements"
    summary = collect.collect(out, budget_minutes=args.budget_minutes, repetitions=3, pairs_per_workload=2)
    ds = data.load(out)
    splits = data.split(len(ds.rows), args.train_fraction, 0)
    X, y = xy(ds.rows)
    result = {"collection": summary, "train_fraction": args.train_fraction, "rows": len(ds.rows)}
    for method in ("pitot", "matrix-factorization"):
        m = metrics(fit_method(method, ds, splits, steps=args.steps), X[splits.test], y[splits.test])
        result[method] = m
        print(f"{method}: MAPE solo {m['mape_solo']:.2%}, co-located {m['mape_interference']:.2%}")
    p = result["pitot"]
    result.update({"mape_solo": p["mape_solo"], "mape_interference": p["mape_interference"],
                   "coverage_0.1": next(b["coverage"] for b in p["bounds"] if b["alpha"] == 0.1)})
    write_result("runtime_collect", result)


if __name__ == "__main__":
    main()

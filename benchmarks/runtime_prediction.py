"""Runtime prediction on the Pitot measurements (edge_sdk/data/pitot, or $EDGE_SDK_DATA/pitot): MAPE with and
without interference, bound coverage and tightness, for Pitot, its ablations and the baselines, over training
fractions and seeds. Every run is appended to benchmarks/results/<name>_runs.jsonl as it finishes (a rerun skips
the runs already there); the summary (mean and spread per method and fraction) goes to <name>.json with plots of
MAPE vs training fraction, bound width vs alpha and coverage vs alpha (name: runtime_prediction, or
runtime_prediction_long for --plan long)."""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
from pathlib import Path

import numpy as np
from common import RESULTS, write_result

from edge_sdk.data import root as data_root

DATA = data_root() / "pitot"
FRACTIONS = (0.1, 0.3, 0.5, 0.7, 0.9)
SEEDS = (0, 1, 2, 3, 4)
# method: (training fractions, seeds). Pitot and matrix factorisation run the whole grid; the other
# baselines and the ablations run three fractions and three seeds to fit this machine's time (--full runs
# everything at every fraction and seed).
REDUCED = ((0.1, 0.5, 0.9), (0, 1, 2))
PLAN = {
    "pitot": (FRACTIONS, SEEDS), "matrix-factorization": (FRACTIONS, SEEDS),
    "pitot-no-interference": REDUCED, "pitot-no-side-features": REDUCED, "mlp": REDUCED, "attention": REDUCED,
}
# The paper trains for 20k steps: a second, longer run of Pitot and the neural baselines at the fractions the
# paper's headline numbers use (--plan long --steps 12000).
LONG = {"pitot": ((0.5, 0.9), SEEDS), "mlp": ((0.9,), (0, 1, 2)), "attention": ((0.9,), (0, 1, 2))}


def _run(job):
    import torch
    method, fraction, seed, steps, threads = job
    torch.set_num_threads(threads)
    from edge_sdk.runtime_prediction import data, experiment
    return experiment.run(method, data.load(DATA), fraction, seed, steps)


def summarize(runs: list[dict]) -> dict:
    out = {}
    for r in runs:
        key = f"{r['method']}@{r['train_fraction']}"
        out.setdefault(key, []).append(r)
    summary = []
    for key, rs in sorted(out.items()):
        row = {"method": rs[0]["method"], "train_fraction": rs[0]["train_fraction"], "seeds": len(rs)}
        for m in ("mape_solo", "mape_interference"):
            v = np.array([r[m] for r in rs])
            row[m] = {"mean": float(v.mean()), "std": float(v.std())}
        for i, alpha in enumerate(b["alpha"] for b in rs[0]["bounds"]):
            for m in ("coverage", "tightness_solo", "tightness_interference"):
                v = np.array([r["bounds"][i][m] for r in rs])
                row.setdefault("bounds", {}).setdefault(str(alpha), {})[m] = {"mean": float(v.mean()),
                                                                              "std": float(v.std())}
        summary.append(row)
    return {"summary": summary}


def plot(summary: list[dict], out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 4, figsize=(20, 4.5))
    methods = sorted({r["method"] for r in summary})
    for m in methods:
        rows = sorted((r for r in summary if r["method"] == m), key=lambda r: r["train_fraction"])
        f = [r["train_fraction"] for r in rows]
        for ax, key in ((axes[0], "mape_solo"), (axes[1], "mape_interference")):
            ax.errorbar(f, [100 * r[key]["mean"] for r in rows], [100 * r[key]["std"] for r in rows],
                        marker="o", capsize=3, label=m)
    for m in ("pitot", "matrix-factorization", "mlp"):
        row = next((r for r in summary if r["method"] == m and r["train_fraction"] == 0.5), None)
        if row:
            alphas = sorted(float(a) for a in row["bounds"])
            axes[2].plot(alphas, [100 * row["bounds"][str(a)]["tightness_solo"]["mean"] for a in alphas], "o-", label=m)
            axes[3].plot(alphas, [100 * row["bounds"][str(a)]["coverage"]["mean"] for a in alphas], "o-", label=m)
    axes[3].plot([0.01, 0.2], [99, 80], "k--", label="1 - alpha")
    titles = ("MAPE, solo runs (%)", "MAPE, co-located runs (%)", "bound tightness vs alpha, 50% train (%)",
              "coverage vs alpha, 50% train (%)")
    for ax, title in zip(axes, titles):
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes[:2]:
        ax.set_xlabel("training fraction")
    for ax in axes[2:]:
        ax.set_xlabel("alpha")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000, help="optimiser steps per neural model")
    parser.add_argument("--workers", type=int, default=1, help="parallel runs (each gets cores / workers threads)")
    parser.add_argument("--summarize-only", action="store_true",
                        help="write the summary of the runs recorded so far without running more")
    parser.add_argument("--plan", default="standard", choices=["standard", "long", "full"],
                        help="standard: the grid above; long: the longer runs; full: every method everywhere")
    args = parser.parse_args()
    plan = {"standard": PLAN, "long": LONG, "full": {m: (FRACTIONS, SEEDS) for m in PLAN}}[args.plan]
    name = "runtime_prediction" + ("" if args.plan == "standard" else f"_{args.plan}")
    runs_file = RESULTS / f"{name}_runs.jsonl"
    done = [json.loads(line) for line in runs_file.read_text().splitlines()] if runs_file.exists() else []
    have = {(r["method"], r["train_fraction"], r["seed"]) for r in done}
    threads = max(1, (os.cpu_count() or 1) // args.workers)
    jobs = [(m, f, s, args.steps, threads) for m, (fr, seeds) in plan.items() for f in fr for s in seeds
            if (m, f, s) not in have]
    if args.summarize_only:
        jobs = []
    print(f"{len(done)} runs recorded, {len(jobs)} to go")
    with mp.get_context("spawn").Pool(args.workers) as pool, runs_file.open("a") as log:
        for r in pool.imap_unordered(_run, jobs):
            log.write(json.dumps(r) + "\n")
            log.flush()
            done.append(r)
            print(f"{r['method']} @ {r['train_fraction']} seed {r['seed']}: MAPE solo {r['mape_solo']:.2%}, "
                  f"co-located {r['mape_interference']:.2%} ({r['fit_seconds']:.0f} s)", flush=True)
    result = summarize(done)
    plot(result["summary"], RESULTS / f"{name}.png")
    write_result(name, {"data": "edge_sdk/data/pitot (85% of the published rows)",
                                        "steps": args.steps,
                                        "plan": {k: {"fractions": list(f), "seeds": list(s)} for k, (f, s) in plan.items()},
                                        **result})


if __name__ == "__main__":
    main()

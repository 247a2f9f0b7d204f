"""Bio-FO and its baselines (BP, DRTP, PEPITA, FF) on the same data and architectures, over seeds: test
accuracy, peak training memory (the learners' tally), MACs per training sample and wall time. `--memory-only`
measures the peak training memory of each algorithm, each fit in a fresh process, on the paper's MNIST 4 x 2000
network (1,000 samples) and on 2 x 1000 (20,000 samples), one epoch (memory does not depend on the number of
epochs): the tally and the growth of the process's peak RSS during fit; writes learning_memory.json.
`--config paper` is the paper's setting (MNIST 4 x 2000, CIFAR-10
6 x 2000, 100 epochs) and takes days on this 2-core machine; `--config medium` trains on all 60,000 MNIST
images with a 3 x 1000 network for 10 epochs; `--config quick` runs fewer epochs and smaller networks;
`--config conv` compares the locally connected Bio-FO with backprop through the same blocks. Each
writes benchmarks/results/learning_<config>.json and says which setting it ran. Every algorithm runs with its
own (paper's) hyperparameters, the learner classes' defaults; FF trains full batch for its reference's 1000 steps
per layer whatever the config's epochs."""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
from common import RESULTS, source_digest, write_result

from edge_sdk.learning import datasets
from edge_sdk.learning.learners import CONV_LEARNERS, LEARNERS

CONFIGS = {
    "paper": {"tasks": {"mnist": ((2000,) * 4, 100), "cifar10": ((2000,) * 6, 100), "ecg200": ((2000,) * 4, 100),
                        "ecg5000": ((2000,) * 4, 100)}, "seeds": (0, 1, 2, 3, 4), "max_train": None,
              "note": "the paper's setting"},
    "medium": {"tasks": {"mnist": ((1000,) * 3, 10), "cifar10": ((1000,) * 3, 20), "ecg5000": ((500, 500), 30)},
               "seeds": (0, 1, 2), "max_train": None,
               "note": "medium: all training data, 3 x 1000 (MNIST, CIFAR-10 subset) and 10-30 epochs instead of "
                       "the paper's 4-6 x 2000 and 100 epochs, to fit this machine; --config paper keeps the full "
                       "setting"},
    "conv": {"tasks": {"mnist": ((16, 32), 5), "cifar10": ((16, 32), 10)}, "seeds": (0, 1, 2), "max_train": 10000,
             "learners": "conv",
             "note": "conv: the locally connected variants (3x3, ReLU, 2x2 max-pool blocks of 16 and 32 channels) "
                     "of Bio-FO and backprop on 10,000 MNIST images (5 epochs) and the CIFAR-10 subset (10 epochs)"},
    "quick": {"tasks": {"digits": ((256, 256), 20), "ecg200": ((256, 256), 30), "mnist": ((500, 500), 2)},
              "seeds": (0, 1, 2), "max_train": 20000,
              "note": "quick: fewer epochs and smaller networks than the paper, to fit this machine; --config "
                      "paper keeps the full setting"},
}


def estimated_hours(cls, layers, epochs: int, task: str, cfg: dict, extra: dict) -> float:
    """The training time of a row (every seed) on this machine: one epoch (a full-batch learner: one step a
    layer) on the row's data, timed, times its epochs and seeds."""
    xt, yt, _, ys = datasets.load(task, cfg["seeds"][0])
    xt, yt = xt[:cfg["max_train"]], yt[:cfg["max_train"]]
    full = budget(cls, epochs).get("epochs", cls().epochs)
    start = time.perf_counter()
    cls(layers=layers, epochs=1, seed=0, **extra).fit(xt, yt, classes=int(max(yt.max(), ys.max())) + 1)
    return (time.perf_counter() - start) * full * len(cfg["seeds"]) / 3600


def budget(cls, epochs: int) -> dict:
    """The config's epochs for the mini-batch learners; a full-batch learner (FF, as its reference) keeps its own
    number of full-batch steps. Every other hyperparameter is the learner class's default (its paper's)."""
    return {} if cls().batch_size is None else {"epochs": epochs}


MALLOC = "MALLOC_MMAP_THRESHOLD_"
MEMORY_NETWORKS = {"4x2000": ((2000,) * 4, 1000), "2x1000": ((1000,) * 2, 20000)}  # layers, MNIST samples
MEMORY_INCLUDES = {
    "tally_bytes": "the learner's peak_train_memory_bytes_: the storages alive at a training step (parameters and "
                   "fixed matrices, gradients, optimiser state, the batch, the activations kept), each counted once",
    "rss_growth_bytes": "measured: peak resident set size of a fresh process during fit() minus its resident set "
                        "size just before (the kernel's VmHWM, reset before fit); includes allocator slack, "
                        "temporaries and PyTorch's own buffers, not the training data (loaded, as float32, before) nor "
                        "PyTorch's one-time set-up (a tiny fit runs first); glibc's mmap threshold is fixed at 128 KiB "
                        "(MALLOC_MMAP_THRESHOLD_) so that a freed tensor leaves the process: with glibc's dynamic "
                        "default, freed blocks up to 32 MiB stay in the heap and the figure varies by 100 MB or more "
                        "from run to run",
}


def _status_kib(field: str) -> int:
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _fit_memory(job) -> dict:
    """In a fresh process: one epoch of `algo` on the first `n` MNIST images; the tally and the RSS growth."""
    algo, layers, n, threads = job
    torch.set_num_threads(threads)
    xt, yt, _, _ = datasets.load("mnist", 0)
    xt, yt = xt[:n].astype(np.float32), yt[:n].copy()  # float32: fit uses it as it is; the full arrays are freed
    LEARNERS[algo](layers=(16,), epochs=1, batch_size=8).fit(xt[:16], yt[:16], classes=10)  # PyTorch's one-time set-up
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak RSS (VmHWM) to the current RSS
    before = _status_kib("VmRSS")
    model = LEARNERS[algo](layers=layers, epochs=1, seed=0).fit(xt, yt, classes=10)
    return {"tally_bytes": int(model.peak_train_memory_bytes_),
            "rss_growth_bytes": 1024 * (_status_kib("VmHWM") - before)}


def memory(threads: int) -> dict:
    """Peak training memory of every algorithm, one fresh process per fit, on each of MEMORY_NETWORKS."""
    import multiprocessing as mp
    os.environ[MALLOC] = "131072"  # read by glibc when each fresh process starts
    out = {}
    for name, (layers, n) in MEMORY_NETWORKS.items():
        out[name] = {"layers": list(layers), "n_train": n, "epochs": 1, "algorithms": {}}
        for algo in LEARNERS:
            with mp.get_context("spawn").Pool(1) as pool:
                out[name]["algorithms"][algo] = pool.apply(_fit_memory, ((algo, layers, n, threads),))
            row = out[name]["algorithms"][algo]
            print(f"{name} {algo}: tally {row['tally_bytes'] / 2**20:.1f} MiB, RSS growth "
                  f"{row['rss_growth_bytes'] / 2**20:.1f} MiB", flush=True)
        bio, bp = out[name]["algorithms"]["bio-fo"], out[name]["algorithms"]["bp"]
        out[name]["bio_fo_over_bp"] = {k: bio[k] / bp[k] for k in MEMORY_INCLUDES}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="quick", choices=sorted(CONFIGS))
    parser.add_argument("--threads", type=int, default=2, help="PyTorch threads")
    parser.add_argument("--memory-only", action="store_true", help="only measure the training memory")
    parser.add_argument("--max-hours", type=float, default=3.0,
                        help="skip a row whose training (all seeds) is estimated to take longer (one epoch timed); "
                             "the results say which and the estimate (default %(default)s)")
    args = parser.parse_args()
    if not args.max_hours > 0 or args.max_hours == float("inf"):
        parser.error(f"--max-hours must be a positive number of hours, got {args.max_hours}")
    torch.set_num_threads(args.threads)
    if args.memory_only:
        write_result("learning_memory", {"data": "MNIST, one epoch (memory does not depend on the epochs), each "
                                                 "algorithm's own batch size (FF: the whole set)",
                                         "figures": MEMORY_INCLUDES, "networks": memory(args.threads)})
        return
    cfg = CONFIGS[args.config]
    # Every finished (task, algorithm) row goes to a journal at once: a rerun resumes where one stopped, with
    # the rows that the same learning code produced.
    journal = RESULTS / f"learning_{args.config}_runs.jsonl"
    code = source_digest("edge_sdk/learning")
    done = {}
    if journal.exists():
        for line in journal.read_text().splitlines():
            row = json.loads(line)
            if row.get("code") == code:
                done[(row["task"], row["algo"])] = row
    rows = []
    for task, (layers, epochs) in cfg["tasks"].items():
        learners = CONV_LEARNERS if cfg.get("learners") == "conv" else LEARNERS
        extra = {"image_shape": datasets.IMAGE_SHAPES[task]} if cfg.get("learners") == "conv" else {}
        for algo, cls in learners.items():
            if (task, algo) in done:
                rows.append(done[(task, algo)])
                continue
            estimate = estimated_hours(cls, layers, epochs, task, cfg, extra)
            if estimate > args.max_hours:
                rows.append({"task": task, "algo": algo, "code": code, "layers": list(layers), "skipped": True,
                             "estimated_hours": round(estimate, 1),
                             "reason": f"not run: {estimate:.1f} h estimated on this machine (one epoch timed), "
                                       f"more than --max-hours {args.max_hours:g}"})
                print(f"{task} {algo}: {rows[-1]['reason']}", flush=True)
                continue
            runs = []
            for seed in cfg["seeds"]:
                xt, yt, xs, ys = datasets.load(task, seed)
                xt, yt = xt[:cfg["max_train"]], yt[:cfg["max_train"]]
                start = time.perf_counter()
                model = cls(layers=layers, seed=seed, **budget(cls, epochs), **extra).fit(
                    xt, yt, classes=int(max(yt.max(), ys.max())) + 1)
                runs.append({"seed": seed, "test_accuracy": model.score(xs, ys),
                             "peak_train_memory_bytes": model.peak_train_memory_bytes_,
                             "train_macs_per_sample": model.train_macs_per_sample(),
                             "wall_seconds": time.perf_counter() - start})
            acc = np.array([r["test_accuracy"] for r in runs])
            rows.append({"task": task, "algo": algo, "code": code, "layers": list(layers), "epochs": model.epochs,
                         "lr": model.lr, "batch_size": model.batch_size, "n_train": len(yt),
                         "test_error_mean": float(1 - acc.mean()), "test_error_std": float(acc.std()),
                         "peak_train_memory_bytes": runs[0]["peak_train_memory_bytes"],
                         "train_macs_per_sample": runs[0]["train_macs_per_sample"], "runs": runs})
            with open(journal, "a") as f:
                f.write(json.dumps(rows[-1]) + "\n")
            print(f"{task} {algo}: error {100 * (1 - acc.mean()):.2f} +- {100 * acc.std():.2f}%, "
                  f"memory {runs[0]['peak_train_memory_bytes']:,} B", flush=True)
    write_result(f"learning_{args.config}", {"config": args.config, "note": cfg["note"], "rows": rows})


if __name__ == "__main__":
    main()

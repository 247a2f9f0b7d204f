"""Bio-FO and its baselines (BP, DRTP, PEPITA, FF) on the same data and architectures, over seeds: test
accuracy, peak training memory (measured) and MACs per training sample, and the on-device Bio-FO run with
its float twin. `--config paper` is the paper's setting (MNIST 4 x 2000, CIFAR-10 6 x 2000, many epochs) and
takes many hours on this 2-core machine; `--config quick` (default) runs fewer epochs and smaller networks,
and says so in its results."""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from common import write_result

from edge_sdk.learning import datasets
from edge_sdk.learning.commands import learn_on_device
from edge_sdk.learning.learners import LEARNERS

CONFIGS = {
    "paper": {"tasks": {"mnist": ((2000,) * 4, 100), "cifar10": ((2000,) * 6, 100), "ecg200": ((2000,) * 4, 100),
                        "ecg5000": ((2000,) * 4, 100)}, "seeds": (0, 1, 2, 3, 4), "max_train": None},
    "quick": {"tasks": {"digits": ((256, 256), 20), "ecg200": ((256, 256), 30), "mnist": ((500, 500), 2)},
              "seeds": (0, 1, 2), "max_train": 20000},
}
LR = {"bio-fo": 1e-3, "bp": 1e-3, "drtp": 1e-3, "pepita": 0.01, "ff": 0.03}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="quick", choices=sorted(CONFIGS))
    args = parser.parse_args()
    torch.set_num_threads(2)
    cfg = CONFIGS[args.config]
    rows = []
    for task, (layers, epochs) in cfg["tasks"].items():
        for algo, cls in LEARNERS.items():
            runs = []
            for seed in cfg["seeds"]:
                xt, yt, xs, ys = datasets.load(task, seed)
                xt, yt = xt[:cfg["max_train"]], yt[:cfg["max_train"]]
                start = time.perf_counter()
                model = cls(layers=layers, epochs=epochs, lr=LR[algo], seed=seed).fit(xt, yt, classes=int(ys.max()) + 1)
                runs.append({"seed": seed, "test_accuracy": model.score(xs, ys),
                             "peak_train_memory_bytes": model.peak_train_memory_bytes_,
                             "train_macs_per_sample": model.train_macs_per_sample(),
                             "wall_seconds": time.perf_counter() - start})
            acc = np.array([r["test_accuracy"] for r in runs])
            rows.append({"task": task, "algo": algo, "layers": list(layers), "epochs": epochs, "n_train": len(yt),
                         "test_error_mean": float(1 - acc.mean()), "test_error_std": float(acc.std()),
                         "peak_train_memory_bytes": runs[0]["peak_train_memory_bytes"],
                         "train_macs_per_sample": runs[0]["train_macs_per_sample"], "runs": runs})
            print(f"{task} {algo}: error {100 * (1 - acc.mean()):.2f} +- {100 * acc.std():.2f}%, "
                  f"memory {runs[0]['peak_train_memory_bytes']:,} B", flush=True)
    device = learn_on_device("digits", "spike", "2x32", 10, [0.05, 0.01], 0)
    write_result("learning", {"config": args.config, "note": "quick: fewer epochs and smaller networks than the "
                              "paper, to fit this machine; --config paper keeps the full setting" if args.config ==
                              "quick" else "the paper's setting", "rows": rows, "on_device": device})


if __name__ == "__main__":
    main()

"""Bio-FO and its baselines (BP, DRTP, PEPITA, FF) on the same data and architectures, over seeds: test
accuracy, peak training memory (measured), MACs per training sample and wall time. `--memory-only` measures
the peak training memory of each algorithm on the paper's MNIST 4 x 2000 network (one epoch on 1,000 samples:
memory does not depend on the number of epochs) and writes learning_memory.json.
`--config paper` is the paper's setting (MNIST 4 x 2000, CIFAR-10
6 x 2000, 100 epochs) and takes days on this 2-core machine; `--config medium` trains on all 60,000 MNIST
images with a 3 x 1000 network for 10 epochs; `--config quick` runs fewer epochs and smaller networks;
`--config conv` compares the locally connected Bio-FO with backprop through the same blocks. Each
writes benchmarks/results/learning_<config>.json and says which setting it ran."""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from common import RESULTS, write_result

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
LR = {"bio-fo": 1e-3, "bp": 1e-3, "drtp": 1e-3, "pepita": 0.01, "ff": 0.03, "bio-fo-conv": 1e-3, "bp-conv": 1e-3}


def memory_4x2000() -> dict:
    """Peak training memory of every algorithm on MNIST with the paper's 4 x 2000 network (measured)."""
    xt, yt, _, _ = datasets.load("mnist", 0)
    return {algo: cls(layers=(2000,) * 4, epochs=1, lr=LR[algo], seed=0).fit(xt[:1000], yt[:1000], classes=10)
            .peak_train_memory_bytes_ for algo, cls in LEARNERS.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="quick", choices=sorted(CONFIGS))
    parser.add_argument("--threads", type=int, default=2, help="PyTorch threads")
    parser.add_argument("--memory-only", action="store_true", help="only measure the 4 x 2000 training memory")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.memory_only:
        memory = memory_4x2000()
        write_result("learning_memory", {"network": "MNIST 784-2000-2000-2000-2000-10, batch 100",
                                         "peak_train_memory_bytes": memory})
        return
    cfg = CONFIGS[args.config]
    # Every finished (task, algorithm) row goes to a journal at once: a rerun resumes where one stopped.
    journal = RESULTS / f"learning_{args.config}_runs.jsonl"
    done = {}
    if journal.exists():
        for line in journal.read_text().splitlines():
            row = json.loads(line)
            done[(row["task"], row["algo"])] = row
    rows = []
    for task, (layers, epochs) in cfg["tasks"].items():
        learners = CONV_LEARNERS if cfg.get("learners") == "conv" else LEARNERS
        extra = {"image_shape": datasets.IMAGE_SHAPES[task]} if cfg.get("learners") == "conv" else {}
        for algo, cls in learners.items():
            if (task, algo) in done:
                rows.append(done[(task, algo)])
                continue
            runs = []
            for seed in cfg["seeds"]:
                xt, yt, xs, ys = datasets.load(task, seed)
                xt, yt = xt[:cfg["max_train"]], yt[:cfg["max_train"]]
                start = time.perf_counter()
                model = cls(layers=layers, epochs=epochs, lr=LR[algo], seed=seed, **extra).fit(
                    xt, yt, classes=int(max(yt.max(), ys.max())) + 1)
                runs.append({"seed": seed, "test_accuracy": model.score(xs, ys),
                             "peak_train_memory_bytes": model.peak_train_memory_bytes_,
                             "train_macs_per_sample": model.train_macs_per_sample(),
                             "wall_seconds": time.perf_counter() - start})
            acc = np.array([r["test_accuracy"] for r in runs])
            rows.append({"task": task, "algo": algo, "layers": list(layers), "epochs": epochs, "n_train": len(yt),
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

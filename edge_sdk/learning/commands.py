"""What `edge-sdk learn` does (cli.py only parses its arguments)."""
from __future__ import annotations

import time

import numpy as np

from edge_sdk.errors import EdgeSdkError
from edge_sdk.learning import datasets
from edge_sdk.learning.on_device import make_task, run_on_device


def parse_layers(text: str) -> list[int]:
    """'4x2000' -> [2000] * 4; '64,32' -> [64, 32]."""
    try:
        if "x" in text:
            count, width = text.split("x")
            layers = [int(width)] * int(count)
        else:
            layers = [int(v) for v in text.split(",")]
    except ValueError:
        raise EdgeSdkError(f"--layers takes COUNTxWIDTH (e.g. 4x2000) or widths (e.g. 64,32), got '{text}'") from None
    if not layers or min(layers) < 1:
        raise EdgeSdkError(f"--layers needs at least one layer of positive width, got '{text}'")
    return layers


def learn_on_device(dataset: str, backend: str, layers: str, epochs: int, lr: list[float], seed: int,
                    max_train: int | None = None, max_test: int | None = None) -> dict:
    widths = parse_layers(layers)
    if epochs < 1:
        raise EdgeSdkError(f"--epochs must be at least 1, got {epochs}")
    x_train, y_train, x_test, y_test = datasets.load(dataset, seed)
    x_train, y_train = x_train[:max_train], y_train[:max_train]
    x_test, y_test = x_test[:max_test], y_test[:max_test]
    task = make_task(x_train, y_train, x_test, y_test, widths, epochs, lr if len(lr) > 1 else lr[0], seed)
    start = time.perf_counter()
    r = run_on_device(task, backend)
    fan_in = [x_train.shape[1], *widths[:-1]]
    macs = max(2 * i * o + 2 * task.classes * o for i, o in zip(fan_in, widths))
    params = sum(i * o + o for i, o in zip(fan_in, widths))
    cache = 4 * (len(y_train) + len(y_test)) * max(widths)
    return {"algo": "bio-fo", "on_device": True, "sim": backend, "dataset": dataset, "layers": widths,
            "epochs": epochs, "seed": seed, "learning_rates": [v / 65536 for v in task.lr],
            "n_train": int(len(y_train)), "n_test": int(len(y_test)),
            "test_accuracy": r["test_accuracy"][-1], "per_layer_test_accuracy": r["test_accuracy"],
            "float_per_layer_test_accuracy": r["float_test_accuracy"], "bit_exact": r["bit_exact"],
            "cycles_per_sample": r["cycles_per_sample"],
            "cycles_are": "instructions (Spike is functional)" if backend == "spike" else "RTL cycles",
            "peak_train_memory_bytes": 4 * params + cache, "train_macs_per_sample": int(macs),
            "wall_seconds": time.perf_counter() - start}


def learn_host(algo: str, dataset: str, layers: str, epochs: int, lr: float, seed: int,
               max_train: int | None = None, plot: str | None = None, connectivity: str = "local") -> dict:
    """Train a host learner; test accuracy after every epoch (per layer for Bio-FO)."""
    from tqdm import tqdm

    from edge_sdk.learning.learners import CONV_LEARNERS, LEARNERS
    if algo not in LEARNERS and algo not in CONV_LEARNERS:
        raise EdgeSdkError(f"unknown --algo '{algo}'; available: {', '.join([*LEARNERS, *CONV_LEARNERS])}")
    if algo in CONV_LEARNERS and dataset not in datasets.IMAGE_SHAPES:
        raise EdgeSdkError(f"--algo {algo} needs an image dataset ({', '.join(datasets.IMAGE_SHAPES)}), got '{dataset}'")
    widths = parse_layers(layers)
    x_train, y_train, x_test, y_test = datasets.load(dataset, seed)
    x_train, y_train = x_train[:max_train], y_train[:max_train]
    curve = []
    layerwise = algo.startswith("bio-fo")
    total = epochs * (len(widths) if layerwise else 1)
    bar = tqdm(total=total, desc=f"{algo} on {dataset}", unit="epoch", leave=False)

    def progress(layer, epoch):
        acc = float(np.mean((model.predict_layer(x_test, layer) if layer is not None else model.predict(x_test))
                            == y_test))
        curve.append({"layer": layer, "epoch": epoch, "test_accuracy": acc})
        bar.update(1)
        bar.set_postfix(acc=f"{acc:.3f}")

    start = time.perf_counter()
    if algo in CONV_LEARNERS:
        model = CONV_LEARNERS[algo](layers=widths, epochs=epochs, lr=lr, seed=seed, progress=progress,
                                    image_shape=datasets.IMAGE_SHAPES[dataset], connectivity=connectivity)
    else:
        model = LEARNERS[algo](layers=widths, epochs=epochs, lr=lr, seed=seed, progress=progress)
    model.fit(x_train, y_train, classes=int(max(y_train.max(), y_test.max()) + 1))
    bar.close()
    per_layer = [float(np.mean(model.predict_layer(x_test, l) == y_test)) for l in range(len(widths))] \
        if layerwise else [model.score(x_test, y_test)]
    result = {"algo": algo, "on_device": False, "dataset": dataset, "layers": widths, "epochs": epochs, "seed": seed,
              "lr": lr, "n_train": int(len(y_train)), "n_test": int(len(y_test)),
              "test_accuracy": model.score(x_test, y_test), "per_layer_test_accuracy": per_layer,
              "per_epoch": curve, "peak_train_memory_bytes": int(model.peak_train_memory_bytes_),
              "train_macs_per_sample": int(model.train_macs_per_sample()),
              "wall_seconds": time.perf_counter() - start}
    if plot:
        plot_curve(result, plot)
    return result


def plot_curve(result: dict, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    acc = [100 * p["test_accuracy"] for p in result["per_epoch"]]
    ax.plot(range(1, len(acc) + 1), acc, "o-", ms=3)
    for i, p in enumerate(result["per_epoch"]):
        if p["layer"] and p["epoch"] == 0:
            ax.axvline(i + 0.5, color="gray", ls=":")
    ax.set_xlabel("epoch (Bio-FO: layers one after the other)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{result['algo']} on {result['dataset']}, layers {result['layers']}")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def accuracy_line(result: dict) -> str:
    if not result["on_device"]:
        per = ", ".join(f"{a:.1%}" for a in result["per_layer_test_accuracy"])
        return (f"{result['algo']} on {result['dataset']}: test accuracy {result['test_accuracy']:.2%} (per layer "
                f"{per}); peak training memory {result['peak_train_memory_bytes']:,} bytes; "
                f"{result['train_macs_per_sample']:,} MACs per training sample; {result['wall_seconds']:.1f} s")
    per = ", ".join(f"{a:.1%}" for a in result["per_layer_test_accuracy"])
    flt = ", ".join(f"{a:.1%}" for a in result["float_per_layer_test_accuracy"])
    cps = ", ".join(f"{c:,.0f}" for c in result["cycles_per_sample"])
    return (f"on-device Bio-FO on {result['sim']}: test accuracy per layer {per} (float twin {flt}); weights "
            f"{'bit-exact' if result['bit_exact'] else 'DIFFERENT'} vs the Python fixed-point model; "
            f"{cps} {'instructions' if result['sim'] == 'spike' else 'cycles'} per training sample per layer")

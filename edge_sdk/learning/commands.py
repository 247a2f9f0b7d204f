"""What `edge-sdk learn` does (cli.py only parses its arguments)."""
from __future__ import annotations

import time

import numpy as np

from edge_sdk.errors import EdgeSdkError, positive_int
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


def _first(x, y, n: int | None, flag: str):
    """The first n samples (all when n is None)."""
    return (x, y) if n is None else (x[:positive_int(flag, n)], y[:n])


def learn_on_device(dataset: str, backend: str, layers: str, epochs: int | None = None,
                    lr: list[float] | None = None, seed: int = 0, max_train: int | None = None,
                    max_test: int | None = None, data: str | None = None, memory: str = "default") -> dict:
    """Train Bio-FO as firmware on `backend` with the memory map `memory`; `epochs` and `lr` default to
    `make_task`'s."""
    widths = parse_layers(layers)
    x_train, y_train, x_test, y_test = datasets.load(dataset, seed, data)
    x_train, y_train = _first(x_train, y_train, max_train, "--max-train")
    x_test, y_test = _first(x_test, y_test, max_test, "--max-test")
    given = {"epochs": epochs, "lr": lr if lr is None or len(lr) > 1 else lr[0]}
    task = make_task(x_train, y_train, x_test, y_test, widths, seed=seed,
                     **{k: v for k, v in given.items() if v is not None})
    start = time.perf_counter()
    r = run_on_device(task, backend, memory=memory)
    fan_in = [x_train.shape[1], *widths[:-1]]
    macs = max(2 * i * o + 2 * task.classes * o for i, o in zip(fan_in, widths))
    return {"algo": "bio-fo", "on_device": True, "sim": backend, "dataset": dataset, "layers": widths,
            "epochs": task.epochs, "seed": seed, "learning_rates": [v / 65536 for v in task.lr],
            "n_train": int(len(y_train)), "n_test": int(len(y_test)),
            "test_accuracy": r["test_accuracy"][-1], "per_layer_test_accuracy": r["test_accuracy"],
            "float_per_layer_test_accuracy": r["float_test_accuracy"], "bit_exact": r["bit_exact"],
            "cycles_per_sample": r["cycles_per_sample"],
            "cycles_are": "instructions (Spike is functional)" if backend == "spike" else "RTL cycles",
            "memory": r["memory"], "train_macs_per_sample": int(macs),
            "wall_seconds": time.perf_counter() - start}


CURVE_POINTS = 50  # test accuracy is measured at most this often per layer (FF trains 1000 steps per layer)


def learn_host(algo: str, dataset: str, layers: str, epochs: int | None = None, lr: float | None = None,
               seed: int = 0, max_train: int | None = None, plot: str | None = None, connectivity: str = "local",
               batch_size: int | None = None, data: str | None = None) -> dict:
    """Train a host learner; test accuracy during training (per layer for the layer-wise ones). `epochs`, `lr`
    and `batch_size` default to the algorithm's own (its paper's) values: the learner classes' defaults."""
    from tqdm import tqdm

    from edge_sdk.learning.learners import CONV_LEARNERS, LEARNERS
    if algo not in LEARNERS and algo not in CONV_LEARNERS:
        raise EdgeSdkError(f"unknown --algo '{algo}'; available: {', '.join([*LEARNERS, *CONV_LEARNERS])}")
    if algo in CONV_LEARNERS and dataset not in datasets.IMAGE_SHAPES:
        raise EdgeSdkError(f"--algo {algo} needs an image dataset ({', '.join(datasets.IMAGE_SHAPES)}), got '{dataset}'")
    widths = parse_layers(layers)
    given = {k: v for k, v in (("epochs", epochs), ("lr", lr), ("batch_size", batch_size)) if v is not None}
    if algo in CONV_LEARNERS:
        model = CONV_LEARNERS[algo](layers=widths, seed=seed, image_shape=datasets.IMAGE_SHAPES[dataset],
                                    connectivity=connectivity, **given)
    else:
        model = LEARNERS[algo](layers=widths, seed=seed, **given)
    x_train, y_train, x_test, y_test = datasets.load(dataset, seed, data)
    x_train, y_train = _first(x_train, y_train, max_train, "--max-train")
    layerwise = hasattr(model, "predict_layer")
    every = max(1, model.epochs // CURVE_POINTS)
    curve = []

    def progress(layer, epoch):
        bar.update(1)
        if (epoch + 1) % every and epoch + 1 != model.epochs:
            return
        acc = float(np.mean((model.predict_layer(x_test, layer) if layer is not None else model.predict(x_test))
                            == y_test))
        curve.append({"layer": layer, "epoch": epoch, "test_accuracy": acc})
        bar.set_postfix(acc=f"{acc:.3f}")

    model.progress = progress
    start = time.perf_counter()
    # delay: a bad parameter fails before the bar is drawn, so the error stands alone.
    with tqdm(total=model.epochs * (len(widths) if layerwise else 1), desc=f"{algo} on {dataset}", unit="epoch",
              leave=False, delay=0.5) as bar:
        model.fit(x_train, y_train, classes=int(max(y_train.max(), y_test.max()) + 1))
    per_layer = [float(np.mean(model.predict_layer(x_test, l) == y_test)) for l in range(len(widths))] \
        if layerwise else [model.score(x_test, y_test)]
    result = {"algo": algo, "on_device": False, "dataset": dataset, "layers": widths, "epochs": model.epochs,
              "seed": seed, "lr": model.lr, "batch_size": model.batch_size, "n_train": int(len(y_train)),
              "n_test": int(len(y_test)), "test_accuracy": model.score(x_test, y_test),
              "per_layer_test_accuracy": per_layer, "per_epoch": curve,
              "peak_train_memory_bytes": int(model.peak_train_memory_bytes_),
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
    points = result["per_epoch"]
    x = [(p["layer"] or 0) * result["epochs"] + p["epoch"] + 1 for p in points]
    ax.plot(x, [100 * p["test_accuracy"] for p in points], "o-", ms=3)
    for l in range(1, len(result["layers"]) if points and points[0]["layer"] is not None else 0):
        ax.axvline(l * result["epochs"] + 0.5, color="gray", ls=":")
    ax.set_xlabel("epoch (layer-wise learners: layers one after the other)")
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
            f"{cps} {'instructions' if result['sim'] == 'spike' else 'cycles'} per training sample per layer; "
            f"data memory {result['memory']['data_memory_used']:,} of {result['memory']['data_memory_bytes']:,} B "
            f"('{result['memory']['map']}': ELF sections + a measured stack of {result['memory']['stack_used']:,} B)")

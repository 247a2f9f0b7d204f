"""What `edge-sdk learn` does (cli.py only parses its arguments)."""
from __future__ import annotations

import time

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


def accuracy_line(result: dict) -> str:
    per = ", ".join(f"{a:.1%}" for a in result["per_layer_test_accuracy"])
    flt = ", ".join(f"{a:.1%}" for a in result["float_per_layer_test_accuracy"])
    cps = ", ".join(f"{c:,.0f}" for c in result["cycles_per_sample"])
    return (f"on-device Bio-FO on {result['sim']}: test accuracy per layer {per} (float twin {flt}); weights "
            f"{'bit-exact' if result['bit_exact'] else 'DIFFERENT'} vs the Python fixed-point model; "
            f"{cps} {'instructions' if result['sim'] == 'spike' else 'cycles'} per training sample per layer")

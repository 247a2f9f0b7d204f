"""Bit-exact Python model of the on-device Bio-FO trainer (firmware/kernels/bio_fo_q16.c and
firmware/apps/bio_fo_train.c): Q16.16 integers, 64-bit products, arithmetic right shifts (rounded to
nearest on the update path), the same sample
order (xorshift32 Fisher-Yates). Vectorised with numpy int64, which is exact for these magnitudes."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Q = 16
ONE = 1 << Q
LOG2E_Q16 = 94548
EXP2_C1, EXP2_C2, EXP2_C3 = 45560, 14822, 5123


def rshift_q(v):
    """Round to nearest, as the firmware's update path (RSHIFT_Q)."""
    return (v + (1 << (Q - 1))) >> Q


def to_q16(x: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(x, dtype=np.float64) * ONE).astype(np.int64)


def wrap32(v: np.ndarray) -> np.ndarray:
    """What a cast to int32 does in C (two's-complement wrap)."""
    return ((np.asarray(v, dtype=np.int64) + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def exp_nonpos(x: np.ndarray) -> np.ndarray:
    y = wrap32((x * LOG2E_Q16) >> Q)
    n = y >> Q
    f = y - (n << Q)
    p = np.full_like(y, EXP2_C3)
    p = EXP2_C2 + wrap32((p * f) >> Q)
    p = EXP2_C1 + wrap32((p * f) >> Q)
    p = ONE + wrap32((p * f) >> Q)
    return np.where(-n >= 31, 0, p >> np.minimum(-n, 62))


def dense_relu(W, b, x):
    pre = wrap32(wrap32((W @ x) >> Q) + b)
    return pre, np.maximum(pre, 0)


def predict(W, b, B, x) -> int:
    _, h = dense_relu(W, b, x)
    return int(np.argmax(wrap32((B @ h) >> Q)))


def train_step(W, b, B, x, label: int, lr: int) -> int:
    """One SGD step of one layer, in place; returns the predicted class (before the update)."""
    pre, h = dense_relu(W, b, x)
    logits = wrap32((B @ h) >> Q)
    predicted = int(np.argmax(logits))
    e = exp_nonpos(logits - logits[predicted])
    err = wrap32((e << Q) // e.sum())
    err[label] -= ONE
    active = pre > 0
    delta = wrap32(rshift_q(B[:, active].T @ err))
    step = wrap32(rshift_q(lr * delta))
    W[active] -= wrap32(rshift_q(np.outer(step, x)))
    b[active] -= step
    return predicted


class XorShift32:
    def __init__(self, seed: int):
        self.state = seed & 0xFFFFFFFF

    def next(self) -> int:
        x = self.state
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.state = x
        return x

    def shuffle(self, order: list[int]) -> None:
        for i in range(len(order) - 1, 0, -1):
            j = self.next() % (i + 1)
            order[i], order[j] = order[j], order[i]


@dataclass
class Task:
    """Everything the firmware trains from: Q16.16 data, initial parameters, fixed heads, hyper-parameters."""
    x_train: np.ndarray  # (n, features) int64 Q16.16
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    W: list[np.ndarray]
    b: list[np.ndarray]
    B: list[np.ndarray]
    classes: int
    epochs: int
    lr: list[int]        # Q16.16, one per layer
    seed: int
    widths: list[int] = field(init=False)

    def __post_init__(self):
        self.widths = [w.shape[0] for w in self.W]


def train(task: Task) -> dict:
    """Run the firmware's training loop; returns per-layer test accuracy and the trained parameters."""
    W, b = [w.copy() for w in task.W], [v.copy() for v in task.b]
    rng = XorShift32(task.seed)
    order = list(range(len(task.y_train)))
    x_train, x_test = task.x_train, task.x_test
    accuracy = []
    for layer in range(len(W)):
        for _ in range(task.epochs):
            rng.shuffle(order)
            for s in order:
                train_step(W[layer], b[layer], task.B[layer], x_train[s], int(task.y_train[s]), task.lr[layer])
        correct = sum(predict(W[layer], b[layer], task.B[layer], x) == y for x, y in zip(x_test, task.y_test))
        accuracy.append(correct / len(task.y_test))
        x_train = np.stack([dense_relu(W[layer], b[layer], x)[1] for x in x_train])
        x_test = np.stack([dense_relu(W[layer], b[layer], x)[1] for x in x_test])
    return {"test_accuracy": accuracy, "W": W, "b": b}


def train_float(task: Task, choose_lr=None) -> dict:
    """The same algorithm in float64 from the same (dequantised) start and sample order: what the fixed-point
    arithmetic costs in accuracy. `choose_lr(layer, x)`, given the layer's training inputs (the outputs of the
    layers trained before it), picks its rate instead of `task.lr`. Returns the test accuracy per layer and the
    rates used."""
    W = [w / ONE for w in task.W]
    b = [v / ONE for v in task.b]
    B = [m / ONE for m in task.B]
    lrs = [lr / ONE for lr in task.lr]
    rng = XorShift32(task.seed)
    order = list(range(len(task.y_train)))
    x_train, x_test = task.x_train / ONE, task.x_test / ONE
    accuracy = []
    for layer in range(len(W)):
        if choose_lr is not None:
            lrs[layer] = choose_lr(layer, x_train)
        for _ in range(task.epochs):
            rng.shuffle(order)
            for s in order:
                pre = W[layer] @ x_train[s] + b[layer]
                logits = B[layer] @ np.maximum(pre, 0)
                p = np.exp(logits - logits.max())
                err = p / p.sum()
                err[task.y_train[s]] -= 1.0
                delta = (B[layer].T @ err) * (pre > 0)
                W[layer] -= lrs[layer] * np.outer(delta, x_train[s])
                b[layer] -= lrs[layer] * delta
        hidden = lambda X: np.maximum(X @ W[layer].T + b[layer], 0)  # noqa: E731
        accuracy.append(float(np.mean(np.argmax(hidden(x_test) @ B[layer].T, 1) == task.y_test)))
        x_train, x_test = hidden(x_train), hidden(x_test)
    return {"test_accuracy": accuracy, "lr": lrs}

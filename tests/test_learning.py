"""Bio-FO on the MCU: the Q16.16 firmware trains bit for bit like its Python model, learns, keeps its heads
fixed and its trained layers frozen; bad input gets clear errors."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from edge_sdk.errors import EdgeSdkError
from edge_sdk.learning import datasets
from edge_sdk.learning import fixed_point as fx
from edge_sdk.learning.commands import parse_layers
from edge_sdk.learning.learners import Backprop, BioFO
from edge_sdk.learning.on_device import make_task, run_on_device


def blobs(n=120, features=8, classes=3, seed=0):
    """Separable Gaussian blobs."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 1, (classes, features))
    y = rng.integers(0, classes, n)
    return np.clip(centers[y] + rng.normal(0, 0.2, (n, features)), -1.5, 1.5), y


@pytest.fixture(scope="module")
def tiny_task():
    x, y = blobs()
    return make_task(x[:80], y[:80], x[80:], y[80:], widths=[6, 5], epochs=3, lr=[0.05, 0.02], seed=3)


@pytest.mark.parametrize("backend", ["spike", "rtl"])
def test_firmware_weights_equal_python_model(tiny_task, backend):
    r = run_on_device(tiny_task, backend)
    assert r["bit_exact"]
    assert r["test_accuracy"] == r["model_test_accuracy"]
    assert r["test_accuracy"][0] > 0.9  # separable blobs are learnt
    assert all(c > 0 for c in r["cycles_per_sample"])


def test_python_model_detects_a_changed_weight(tiny_task):
    """The comparison can fail: a model run from a perturbed start ends with different weights."""
    a = fx.train(tiny_task)
    tiny_task.W[0][0, 0] += 1
    try:
        b = fx.train(tiny_task)
    finally:
        tiny_task.W[0][0, 0] -= 1
    assert not np.array_equal(a["W"][0], b["W"][0])


def test_heads_fixed_and_earlier_layers_frozen(tiny_task):
    heads = [B.copy() for B in tiny_task.B]
    two = fx.train(tiny_task)
    one_layer = fx.Task(tiny_task.x_train, tiny_task.y_train, tiny_task.x_test, tiny_task.y_test,
                        tiny_task.W[:1], tiny_task.b[:1], tiny_task.B[:1], tiny_task.classes, tiny_task.epochs,
                        tiny_task.lr[:1], tiny_task.seed)
    one = fx.train(one_layer)
    # Training layer 2 did not touch layer 1 (no error crosses layers), except through the shared sample order.
    assert np.array_equal(two["W"][0], one["W"][0]) and np.array_equal(two["b"][0], one["b"][0])
    assert all(np.array_equal(h, B) for h, B in zip(heads, tiny_task.B))


def test_fixed_point_exp_is_accurate():
    x = np.linspace(-12, 0, 2001)
    approx = fx.exp_nonpos(fx.to_q16(x)) / fx.ONE
    assert np.max(np.abs(approx - np.exp(x))) < 2e-3
    assert fx.exp_nonpos(fx.to_q16(np.array([-40.0])))[0] == 0


def test_fixed_point_close_to_float_twin():
    x, y = blobs(300, seed=1)
    task = make_task(x[:200], y[:200], x[200:], y[200:], widths=[12], epochs=5, lr=0.05, seed=1)
    fixed, flt = fx.train(task)["test_accuracy"][0], fx.train_float(task)["test_accuracy"][0]
    assert fixed > 0.9 and abs(fixed - flt) <= 0.02


def test_bad_input():
    x, y = blobs()
    with pytest.raises(EdgeSdkError, match="same width"):
        make_task(x, y, x[:, :4], y, [4], 1, 0.1)
    with pytest.raises(EdgeSdkError, match="2..16 classes"):
        make_task(x, y * 10, x, y, [4], 1, 0.1)
    with pytest.raises(EdgeSdkError, match="one per layer"):
        make_task(x, y, x, y, [4, 4], 1, [0.1, 0.1, 0.1])
    with pytest.raises(EdgeSdkError, match="unknown dataset 'imagenet'"):
        datasets.load("imagenet")
    with pytest.raises(EdgeSdkError, match="COUNTxWIDTH"):
        parse_layers("4xwide")


def test_cli_learn_on_device(tmp_path):
    out = tmp_path / "learn.json"
    proc = subprocess.run([sys.executable, "-m", "edge_sdk.cli", "learn", "--on-device", "--sim", "spike",
                           "--dataset", "ecg200", "--layers", "1x8", "--epochs", "2", "--lr", "0.02", "--json",
                           str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    for key in ("algo", "dataset", "layers", "epochs", "seed", "test_accuracy", "per_layer_test_accuracy",
                "peak_train_memory_bytes", "train_macs_per_sample", "wall_seconds"):
        assert key in result
    assert result["bit_exact"] and result["test_accuracy"] > 0.6
    proc = subprocess.run([sys.executable, "-m", "edge_sdk.cli", "learn", "--algo", "bp", "--on-device"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "only --algo bio-fo" in proc.stderr and "Traceback" not in proc.stderr


# ------------------------------------------------------------------ host learners


def test_biofo_learns_separable_task():
    x, y = blobs(400, features=10, classes=4, seed=2)
    model = BioFO(layers=(32, 32), epochs=5, lr=1e-2).fit(x[:300], y[:300])
    assert model.score(x[300:], y[300:]) > 0.9
    assert np.mean(model.predict_layer(x[300:], 0) == y[300:]) > 0.9


def test_no_gradient_reaches_earlier_layers_and_heads_stay_fixed():
    x, y = blobs(200, features=10, classes=4, seed=3)
    model = BioFO(layers=(16, 16), lr=1e-2).partial_fit(x, y, classes=4)
    heads = [B.clone() for B in model.heads_]
    first = [p.detach().clone() for p in model.hidden_[0].parameters()]
    for p in model.hidden_[0].parameters():
        p.grad = None
    model.next_layer()
    model.partial_fit(x, y)
    assert all(p.grad is None for p in model.hidden_[0].parameters())
    assert all(torch.equal(a, p) for a, p in zip(first, model.hidden_[0].parameters()))
    assert all(torch.equal(a, b) for a, b in zip(heads, model.heads_))
    assert not any(B.requires_grad for B in model.heads_)


def test_biofo_needs_less_training_memory_than_backprop():
    x, y = blobs(200, features=64, classes=10, seed=4)
    bio = BioFO(layers=(256,) * 4, epochs=1).fit(x, y)
    bp = Backprop(layers=(256,) * 4, epochs=1).fit(x, y)
    assert bio.peak_train_memory_bytes_ < 0.8 * bp.peak_train_memory_bytes_
    assert bio.score(x, y) > 0.3 and bp.score(x, y) > 0.3


def test_host_learners_check_inputs():
    x, y = blobs()
    with pytest.raises(EdgeSdkError, match="labels must lie in 0..2"):
        BioFO(layers=(4,)).partial_fit(x, y, classes=3).partial_fit(x, y + 3)
    model = Backprop(layers=(4,), epochs=1).fit(x, y)
    with pytest.raises(EdgeSdkError, match="the model was fitted with 8"):
        model.predict(x[:, :5])
    with pytest.raises(EdgeSdkError, match="one integer label per row"):
        Backprop(layers=(4,)).fit(x, y[:5])
    with pytest.raises(EdgeSdkError, match="not fitted"):
        BioFO().predict(x)


@pytest.mark.parametrize("algo", ["bp", "drtp", "pepita", "ff"])
def test_baselines_learn(algo):
    from edge_sdk.learning.learners import LEARNERS
    x, y = blobs(400, features=10, classes=4, seed=2)
    model = LEARNERS[algo](layers=(32, 32), epochs=20).fit(x[:300], y[:300])
    assert model.score(x[300:], y[300:]) > 0.6  # chance is 0.25
    assert model.peak_train_memory_bytes_ > 0 and model.train_macs_per_sample() > 0


@pytest.mark.parametrize("connectivity", ["local", "conv"])
def test_conv_variants_learn_digits_layer_by_layer(connectivity):
    from edge_sdk.learning.learners import BackpropConv, BioFOConv
    xt, yt, xs, ys = datasets.load("digits", 0)
    model = BioFOConv(layers=(8, 16), epochs=8, lr=3e-3, image_shape=(8, 8, 1), connectivity=connectivity)
    model.fit(xt[:600], yt[:600])
    per_layer = [np.mean(model.predict_layer(xs, l) == ys) for l in range(2)]
    assert max(per_layer) > (0.8 if connectivity == "local" else 0.4), per_layer   # chance is 0.1
    first = [p.detach().clone() for p in model.hidden_[0].parameters()]
    for p in model.hidden_[0].parameters():
        p.grad = None
    model.trained_layers_ = 0
    model.next_layer()
    model.partial_fit(xt[:200], yt[:200])                  # training layer 2 leaves layer 1 untouched
    assert all(p.grad is None for p in model.hidden_[0].parameters())
    assert all(torch.equal(a, p) for a, p in zip(first, model.hidden_[0].parameters()))
    bp = BackpropConv(layers=(8, 16), epochs=8, lr=3e-3, image_shape=(8, 8, 1), connectivity=connectivity)
    assert bp.fit(xt[:600], yt[:600]).score(xs, ys) > 0.7
    assert model.peak_train_memory_bytes_ < bp.peak_train_memory_bytes_


def test_conv_variants_check_inputs():
    from edge_sdk.learning.learners import BioFOConv
    x, y = blobs()
    with pytest.raises(EdgeSdkError, match=r"image_shape \(8, 8, 1\) has 64 values, X has 8 features"):
        BioFOConv(layers=(4,), image_shape=(8, 8, 1)).fit(x, y)
    with pytest.raises(EdgeSdkError, match="connectivity must be 'conv' or 'local'"):
        BioFOConv(connectivity="dense")
    with pytest.raises(EdgeSdkError, match="too many conv layers"):
        xt, yt, _, _ = datasets.load("digits", 0)
        BioFOConv(layers=(4, 4, 4, 4), image_shape=(8, 8, 1)).fit(xt[:50], yt[:50])

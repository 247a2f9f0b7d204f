"""The int8 transformer layer every MEADOW dataflow computes, and its numpy reference.

Integer arithmetic throughout, so "exact" means bit-equal (integer sums do not depend on their order):
- activations int8; a matrix product accumulates in int32 and is requantized to int8 by an integer multiplier
  and shift with rounding, `(acc * mult + 2^(shift-1)) >> shift`, saturated (TFLite-style), fused into the PE
  output stage together with the bias and the activation (ReLU, or GELU by a 256-entry look-up table);
- LayerNorm in integers: mean and variance per token (floor divisions), the integer square root of the
  variance, `clip((x - mean) * gamma // std + beta)` with integer gamma and beta;
- softmax as MEADOW's pipeline computes it: MAX, EXP by a 256-entry table of round(2^15 exp(-d / 8)) indexed by
  the distance d to the row maximum (scores are int8, 1/8 logit per step), DIV: p = round(255 e / sum e), so
  P is 0..255 (uint8); masked (future) keys contribute e = 0;
- residual adds saturate to int8.
The requantization multipliers are calibrated once per layer on a calibration input (each matrix product's
output brought to a standard deviation of 24 int8 steps, the scores to 16) and are then fixed parameters.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from accelerator_models.meadow.models import Model

SHIFT = 24
EXP_LUT = np.round(2 ** 15 * np.exp(-np.arange(256) / 8)).astype(np.int64)
GELU_LUT = np.array([round(16 * (v / 16) * 0.5 * (1 + math.erf(v / 16 / math.sqrt(2)))) for v in range(-128, 128)],
                    np.int64).clip(-128, 127)


def requant(acc, mult: int, shift: int = SHIFT) -> np.ndarray:
    acc = np.asarray(acc).astype(np.int64)
    return np.clip((acc * mult + (1 << (shift - 1))) >> shift, -128, 127)


def activation(x, act: str) -> np.ndarray:
    x = np.asarray(x).astype(np.int64)
    if act == "relu":
        return np.maximum(x, 0)
    if act == "gelu":
        return GELU_LUT[x + 128]
    if act == "none":
        return x
    raise ValueError(act)


def layernorm(x, g: np.ndarray, b: np.ndarray) -> np.ndarray:
    x = np.asarray(x).astype(np.int64)
    n = x.shape[-1]
    xc = x - np.floor_divide(x.sum(-1, keepdims=True), n)
    var = np.floor_divide((xc * xc).sum(-1, keepdims=True), n)
    std = np.maximum(np.floor(np.sqrt(var.astype(np.float64))).astype(np.int64), 1)
    return np.clip(np.floor_divide(xc * g, std) + b, -128, 127)


def softmax_rows(s, mask=None) -> np.ndarray:
    """int8 scores (rows x keys) -> P in 0..255; `mask` (same shape, bool) marks the keys a row may attend."""
    s = np.asarray(s).astype(np.int64)
    if mask is not None:
        s = np.where(mask, s, -128)
    d = s.max(-1, keepdims=True) - s
    e = EXP_LUT[d]
    if mask is not None:
        e = np.where(mask, e, 0)
    total = e.sum(-1, keepdims=True)
    return np.floor_divide(e * 255 + total // 2, total)


def causal_mask(rows: range | np.ndarray, keys: int) -> np.ndarray:
    """Row (query position) i may attend keys 0..i."""
    return np.arange(keys)[None, :] <= np.asarray(rows)[:, None]


def mm(a, b) -> np.ndarray:
    """Exact integer matrix product (float64 BLAS: int8 x int8 sums stay far below 2^53)."""
    return (np.asarray(a, np.float64) @ np.asarray(b, np.float64)).astype(np.int64)


@dataclass
class Layer:
    """One layer's integer parameters. Weights are stored as the dataflows read them: (in x out)."""
    model: Model
    w: dict                      # name -> int8 (in x out)
    bias: dict                   # name -> int64 (out,)
    ln1: tuple
    ln2: tuple
    mult: dict = field(default_factory=dict)   # requantization point -> multiplier (shift SHIFT)

    @property
    def causal(self) -> bool:
        return self.model.decoder


def make_layer(model: Model, weights: dict, seed: int = 0, calib_tokens: int = 32) -> Layer:
    """Integer parameters around `weights` (out x in int8 each): biases, LayerNorm (from the real float
    parameters when given, scaled to 24 int8 steps), and multipliers calibrated on a seeded random input."""
    rng = np.random.default_rng(seed + 1)
    h = model.hidden
    w = {k: np.ascontiguousarray(weights[k].T) for k in ("Wq", "Wk", "Wv", "Wo", "W1", "W2")}
    bias = {k: rng.integers(-256, 257, size=w[k].shape[1]).astype(np.int64) for k in w}

    def ln(key):
        if key in weights:
            g, b = weights[key]
            return (np.maximum(np.round(np.asarray(g) * 24), 1).astype(np.int64), np.round(np.asarray(b) * 24)
                    .astype(np.int64))
        return np.full(h, 24, np.int64), np.zeros(h, np.int64)
    layer = Layer(model, w, bias, ln("ln1"), ln("ln2"))
    calibrate(layer, random_tokens(model, calib_tokens, rng))
    return layer


def random_tokens(model: Model, n: int, rng: np.random.Generator) -> np.ndarray:
    return np.clip(np.round(rng.standard_normal((n, model.hidden)) * 24), -128, 127).astype(np.int64)


def _fit(acc, target: float) -> int:
    std = float(np.asarray(acc, np.float64).std()) or 1.0
    return max(1, int(round(target / std * 2 ** SHIFT)))


def calibrate(layer: Layer, x: np.ndarray) -> None:
    """Fix every multiplier, in the order the layer computes, from the calibration input x."""
    m, L = layer.mult, layer
    hd, heads = L.model.head_dim, L.model.heads
    h = layernorm(x, *L.ln1)
    proj = {}
    for k, point in (("Wq", "q"), ("Wk", "k"), ("Wv", "v")):
        acc = mm(h, L.w[k]) + L.bias[k]
        m[point] = _fit(acc, 24)
        proj[point] = requant(acc, m[point])
    t = x.shape[0]
    mask = causal_mask(range(t), t) if L.causal else None
    s_acc = np.stack([mm(proj["q"][:, i * hd:(i + 1) * hd], proj["k"][:, i * hd:(i + 1) * hd].T) for i in range(heads)])
    m["s"] = _fit(s_acc, 16)
    p = softmax_rows(requant(s_acc, m["s"]), mask)
    o_acc = np.concatenate([mm(p[i], proj["v"][:, i * hd:(i + 1) * hd]) for i in range(heads)], 1)
    m["o"] = _fit(o_acc, 24)
    o = requant(o_acc, m["o"])
    acc = mm(o, L.w["Wo"]) + L.bias["Wo"]
    m["a"] = _fit(acc, 24)
    x1 = np.clip(x + requant(acc, m["a"]), -128, 127)
    h2 = layernorm(x1, *L.ln2)
    acc = mm(h2, L.w["W1"]) + L.bias["W1"]
    m["f1"] = _fit(acc, 24)
    f = activation(requant(acc, m["f1"]), L.model.act)
    m["f2"] = _fit(mm(f, L.w["W2"]) + L.bias["W2"], 24)


def reference(layer: Layer, x: np.ndarray, k_cache: np.ndarray | None = None, v_cache: np.ndarray | None = None) -> dict:
    """The layer on tokens x (n x hidden int8). Prefill: no cache; the causal mask for decoders. Decode: x holds
    the new token(s) after the cached positions; K and V include the cache. Returns out, K and V (all rows)."""
    L, m = layer, layer.mult
    hd, heads = L.model.head_dim, L.model.heads
    x = np.asarray(x).astype(np.int64)
    h = layernorm(x, *L.ln1)
    q, k, v = (requant(mm(h, L.w[w]) + L.bias[w], m[pt]) for w, pt in (("Wq", "q"), ("Wk", "k"), ("Wv", "v")))
    past = 0 if k_cache is None else k_cache.shape[0]
    if past:
        k, v = np.concatenate([k_cache, k]), np.concatenate([v_cache, v])
    n, keys = x.shape[0], k.shape[0]
    mask = causal_mask(range(past, past + n), keys) if L.causal else None
    o = np.zeros((n, L.model.hidden), np.int64)
    for i in range(heads):
        c = slice(i * hd, (i + 1) * hd)
        p = softmax_rows(requant(mm(q[:, c], k[:, c].T), m["s"]), mask)
        o[:, c] = requant(mm(p, v[:, c]), m["o"])
    x1 = np.clip(x + requant(mm(o, L.w["Wo"]) + L.bias["Wo"], m["a"]), -128, 127)
    f = activation(requant(mm(layernorm(x1, *L.ln2), L.w["W1"]) + L.bias["W1"], m["f1"]), L.model.act)
    out = np.clip(x1 + requant(mm(f, L.w["W2"]) + L.bias["W2"], m["f2"]), -128, 127)
    return {"out": out, "K": k, "V": v, "Q": q, "O": o}

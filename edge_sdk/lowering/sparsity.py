"""N:M sparsity per weight layer: the sparsest supported pattern its int8 weights satisfy, and the kernel that
runs the layer fastest at its shape.

The choice is made from a cost model fitted to measured cycles: `kernel_costs.json` (beside this module) holds,
per layer kind ("conv": conv2d and matmuls over several rows; "fc": one row) and kernel ("dense", "sw" = the
N:M software kernel, "ext" = the xdec kernel), non-negative cycle costs of the work items the kernel's loops
are made of (`FEATURES`), fitted by `fit` to the cycles `python benchmarks/kernels.py` measured on the RTL for
every layer and pattern of its benchmark (it rewrites the file), weighted so that every layer's relative error
counts alike. For a layer the compiler predicts the cycles of each kernel the ISA has and takes the fastest:
a sparse kernel only where it is predicted to beat the dense one at this shape by MARGIN (small layers pay the
per-output and per-block costs with little reduction to save them on)."""
from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

import numpy as np

from edge_sdk.platform import ISAS
from riscv_ext import nm_format

COSTS = Path(__file__).with_name("kernel_costs.json")
# A sparse kernel is chosen only when predicted at least this much faster than the dense one: the models'
# errors on layers left out of their fit are about 2-9% on average and larger on a few small layers.
MARGIN = 0.10
# Sparsest first; at equal density the fewer entries a group, the simpler the loop.
ORDER = sorted(nm_format.SUPPORTED, key=lambda p: (int(p.split(":")[0]) / int(p.split(":")[1]), p))
VARIANT_KIND = {"sw": "sparse-sw", "ext": "sparse-ext"}
# The work items of each kind's loops: conv = per entry and output pixel and channel (the dot products; an
# entry is a weight the kernel reads: all K of a dense row, K N / M of a sparse one), per such entry of a
# sparse row that is not in a whole offsets word (the sparse kernels' assembly loops take whole words of
# offsets; the rest goes through a slower C path), per output (requantization), per input tap of an output
# pixel (im2col), per channel and block of 4 pixels (set-up), per call; fc = the same per output channel.
FEATURES = {"conv": ("entry x pixel x channel", "partial-word entry x pixel x channel", "output", "input tap",
                     "channel x 4-pixel block", "call"),
            "fc": ("entry x channel", "partial-word entry x channel", "output")}


def detect(rows: np.ndarray) -> nm_format.Pattern | None:
    """The sparsest pattern every group of `rows` ([cout, k] int8, k along the reduction) satisfies."""
    for name in ORDER:
        p = nm_format.parse_pattern(name)
        if rows.shape[1] % p.m == 0 and (np.count_nonzero(rows.reshape(rows.shape[0], -1, p.m), axis=2) <= p.n).all():
            return p
    return None


def features(kind: str, pixels: int, cout: int, k: int, pattern: nm_format.Pattern | None) -> np.ndarray:
    """The work items of a layer of `kind` with `pixels` output pixels (1 for fc), `cout` channels and reduction
    `k`, run dense (pattern None) or on an N:M kernel."""
    entries = k if pattern is None else k * pattern.n // pattern.m
    partial = 0 if pattern is None else entries % pattern.fields_per_word
    if kind == "conv":
        return np.array([pixels * cout * entries, pixels * cout * partial, pixels * cout, pixels * k,
                         cout * math.ceil(pixels / 4), 1.0])
    return np.array([cout * entries, cout * partial, cout], dtype=float)


def fit(samples: list[tuple[str, str, np.ndarray, float]]) -> dict:
    """Per (kind, variant) the non-negative costs minimising the squared relative error over `samples`
    (kind, variant, features, measured cycles); with each model's worst and mean relative error on the samples
    and, leaving out one sample at a time, on the sample left out."""
    from scipy.optimize import nnls
    out: dict = {}
    for kind, variant in sorted({(s[0], s[1]) for s in samples}):
        f = np.array([s[2] for s in samples if s[:2] == (kind, variant)])
        y = np.array([s[3] for s in samples if s[:2] == (kind, variant)])
        w = 1.0 / y
        coef, _ = nnls(f * w[:, None], np.ones_like(y))
        rel = np.abs(f @ coef - y) / y
        held = []
        if len(y) > len(coef):
            for i in range(len(y)):
                keep = np.arange(len(y)) != i
                c, _ = nnls(f[keep] * w[keep, None], np.ones(keep.sum()))
                held.append(abs(f[i] @ c - y[i]) / y[i])
        out.setdefault(kind, {})[variant] = {
            "costs": dict(zip(FEATURES[kind], coef.round(4).tolist())), "samples": len(y),
            "mean_relative_error": float(rel.mean()), "max_relative_error": float(rel.max()),
            "held_out_mean_relative_error": float(np.mean(held)) if held else None}
    return out


@cache
def cost_models() -> dict:
    return json.loads(COSTS.read_text())["models"] if COSTS.exists() else {}


def predicted_cycles(kind: str, variant: str, pixels: int, cout: int, k: int,
                     pattern: nm_format.Pattern | None) -> float | None:
    """The model's cycles for a layer on `variant`, or None without a model for it."""
    model = cost_models().get(kind, {}).get(variant)
    if model is None:
        return None
    coef = np.array([model["costs"][name] for name in FEATURES[kind]])
    return float(features(kind, pixels, cout, k, None if variant == "dense" else pattern) @ coef)


def choose(kind: str, pattern: nm_format.Pattern, isa: str, pixels: int, cout: int, k: int) -> str:
    """"dense", "sw" or "ext": the kernel predicted fastest for a layer of `kind` ("conv" or "fc") with `pixels`
    output pixels, `cout` channels, reduction `k` and weights following `pattern`, among those `isa` has."""
    dense = predicted_cycles(kind, "dense", pixels, cout, k, None)
    if dense is None:
        return "dense"
    options = {"dense": dense}
    for variant, ext in (("sw", "xedge"), ("ext", "xdec")):
        cycles = predicted_cycles(kind, variant, pixels, cout, k, pattern)
        if ext in ISAS[isa] and cycles is not None and cycles * (1 + MARGIN) < dense:
            options[variant] = cycles
    return min(options, key=options.get)

"""N:M sparsity per weight layer: the sparsest supported pattern its int8 weights satisfy, and the kernel that
runs it fastest.

The choice is made from measured cycles: `kernel_speedups.json` (beside this module) holds, per layer kind
("conv": conv2d and matmuls over several rows; "fc": one row) and pattern, the mean speedup over the dense
kernel that `python benchmarks/kernels.py` measured on the RTL for the software kernel ("sw") and the xdec
kernel ("ext") across its layer shapes. A variant is used when its measured mean beats dense and the ISA has
its instructions; per-shape effects (small layers gain less) are not modelled."""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np

from edge_sdk.platform import ISAS
from riscv_ext import nm_format

SPEEDUPS = Path(__file__).with_name("kernel_speedups.json")
# Sparsest first; at equal density the fewer entries a group, the simpler the loop.
ORDER = sorted(nm_format.SUPPORTED, key=lambda p: (int(p.split(":")[0]) / int(p.split(":")[1]), p))
VARIANT_KIND = {"sw": "sparse-sw", "ext": "sparse-ext"}


def detect(rows: np.ndarray) -> nm_format.Pattern | None:
    """The sparsest pattern every group of `rows` ([cout, k] int8, k along the reduction) satisfies."""
    for name in ORDER:
        p = nm_format.parse_pattern(name)
        if rows.shape[1] % p.m == 0 and (np.count_nonzero(rows.reshape(rows.shape[0], -1, p.m), axis=2) <= p.n).all():
            return p
    return None


@cache
def measured_speedups() -> dict:
    return json.loads(SPEEDUPS.read_text())["speedups"] if SPEEDUPS.exists() else {}


def choose(kind: str, pattern: nm_format.Pattern, isa: str) -> str:
    """"dense", "sw" or "ext" for a layer of `kind` ("conv" or "fc") with `pattern` on `isa`."""
    measured = measured_speedups().get(kind, {}).get(pattern.name, {})
    options = {"dense": 1.0}
    if "xedge" in ISAS[isa] and "sw" in measured:
        options["sw"] = measured["sw"]
    if "xdec" in ISAS[isa] and "ext" in measured:
        options["ext"] = measured["ext"]
    return max(options, key=options.get)

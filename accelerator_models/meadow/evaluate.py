"""One dataflow on one workload and hardware: search its tilings, simulate the whole layer program on the
engine, and execute the same program numerically against the reference layer (quant.reference)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from accelerator_models.common.engine import Timeline, simulate
from accelerator_models.common.executor import execute
from accelerator_models.common.hardware import Hardware
from accelerator_models.common.program import Program
from accelerator_models.meadow import dataflows, packing, quant
from accelerator_models.meadow.dataflows import Workload
from accelerator_models.meadow.search import search

WEIGHTS = ("Wq", "Wk", "Wv", "Wo", "W1", "W2")


@dataclass
class Result:
    dataflow: str
    variant: str               # 'strong' or 'paper-style'
    packing: bool
    tilings: dict
    latency_cycles: int
    dram_bytes: int
    dram_read_bytes: int
    dram_write_bytes: int
    energy_pj: float
    busy_cycles: dict
    peak_buffer_bytes: int
    program: Program
    timeline: Timeline

    def to_json(self) -> dict:
        return {"dataflow": self.dataflow, "variant": self.variant, "packing": self.packing,
                "latency_cycles": self.latency_cycles, "dram_bytes": self.dram_bytes,
                "dram_read_bytes": self.dram_read_bytes, "dram_write_bytes": self.dram_write_bytes,
                "energy_pj": self.energy_pj, "busy_cycles": self.busy_cycles,
                "peak_buffer_bytes": self.peak_buffer_bytes,
                "tilings": {k: v["params"] for k, v in self.tilings.items()}}


def pack_layer(layer, chunk: int, packet: int = 16, mode_bits: int = 2, encoding: str = "reindexed") -> dict:
    """Every weight matrix of the layer packed (as stored: out x in, chunks along the inner dimension)."""
    return {w: packing.pack(np.ascontiguousarray(layer.w[w].T), chunk, packet, mode_bits, encoding) for w in WEIGHTS}


def run(hw: Hardware, wl: Workload, layer, dataflow: str, packed: dict | None = None, weak: bool = False,
        tag: str = "") -> Result:
    tilings = search(hw, wl, layer, dataflow, packed, weak, tag)
    p = dataflows.build(hw, wl, layer, dataflow, {k: v["params"] for k, v in tilings.items()}, packed, weak)
    tl = simulate(p.ops, hw)
    return Result(dataflow, "paper-style" if weak else "strong", bool(packed), tilings, tl.latency_cycles,
                  tl.dram_bytes, tl.dram_read_bytes, tl.dram_write_bytes, float(sum(tl.energy_pj.values())),
                  dict(tl.busy_cycles), tl.peak_buffer_bytes, p, tl)


def inputs(layer, wl: Workload, seed: int = 0) -> dict:
    """Seeded int8 tokens, and for decode a KV cache made by the layer's own K and V projections of earlier
    (random) tokens."""
    rng = np.random.default_rng(seed + 7)
    x = quant.random_tokens(wl.model, wl.tokens, rng)
    out = {"x": x}
    if wl.past:
        xp = quant.random_tokens(wl.model, wl.past, rng)
        h = quant.layernorm(xp, *layer.ln1)
        out["K_cache"] = quant.requant(quant.mm(h, layer.w["Wk"]) + layer.bias["Wk"], layer.mult["k"])
        out["V_cache"] = quant.requant(quant.mm(h, layer.w["Wv"]) + layer.bias["Wv"], layer.mult["v"])
    return out


def check(res: Result, wl: Workload, layer, data: dict, packed: dict | None = None) -> dict:
    """Execute the simulated program on `data` and compare with the reference: the layer's output and the K and
    V rows it writes (bit-equal: integer arithmetic)."""
    dram = {name: np.full(shape, np.nan) for name, shape in dataflows.dram_tensors(wl).items()}
    dram["x"] = data["x"].astype(np.float64)
    if wl.past:
        dram["K"][: wl.past] = data["K_cache"]
        dram["V"][: wl.past] = data["V_cache"]
    for w in WEIGHTS:
        dram[w] = layer.w[w]
        if packed:
            dram[w + ".packed"] = packed[w]
    execute(res.program.ops, res.timeline, dram, res.program.slot_shapes)
    ref = quant.reference(layer, data["x"], data.get("K_cache"), data.get("V_cache"))
    got = {k: dram[k] for k in ("out", "K", "V")}
    wrong = {k: int(np.sum(~(got[k] == ref[k]))) for k in got}        # NaN (never written) counts as wrong
    return {"exact": not any(wrong.values()), "mismatches": wrong,
            "checked_elements": int(sum(math.prod(v.shape) for v in got.values()))}

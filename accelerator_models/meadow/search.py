"""The tiling search of MEADOW's dataflows: the same search, on the same engine, for GEMM and TPHS.

A layer program is a sequence of layers (dataflows.LAYERS); each has a small space of tilings (below). The
layers are searched in order, each exhaustively, simulated on the engine behind the layer before it (with
that layer's chosen tiling), so a tiling is judged with the overlap it gets at the layer boundary (objective:
the latency of the pair, energy breaking ties); the best tiling of every layer is then put together and the
whole layer program simulated — that full simulation is what is reported. Layers that GEMM and TPHS share (LayerNorms,
output projection, MLP) get the same search and therefore the same tiling. The paper-style weak GEMM is
searched the same way under its own (no-overlap) timing."""
from __future__ import annotations

import itertools
import json

from accelerator_models.common.engine import simulate
from accelerator_models.common.errors import ModelError
from accelerator_models.common.hardware import Hardware
from accelerator_models.common.program import Infeasible
from accelerator_models.meadow import dataflows
from accelerator_models.meadow.dataflows import LAYERS, Workload

_CACHE: dict = {}


def _uniq(values) -> list:
    out = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def space(layer: str, wl: Workload, K: int | None = None) -> dict:
    """The tilings of one layer of the layer program (K: the inner dimension of a projection)."""
    n, keys = wl.tokens, wl.keys
    rows = _uniq(min(n, r) for r in (n, 64, 32))
    if layer in ("ln1", "ln2"):
        return {"tr": _uniq(min(n, r) for r in (32, 128))}
    if layer in ("qkv", "kv", "out", "fc1", "fc2"):
        return {"tm": rows, "tn": [64, 128, 256, 512], "tk": _uniq(min(K, k) for k in (K, 256)),
                "order": ["x_outer", "w_outer"]}
    if layer == "scores":
        return {"tm": rows, "tn": _uniq(min(keys, c) for c in (keys, 128, 64)), "k_resident": [0, 1]}
    if layer == "softmax":
        return {"tr": _uniq(min(n, r) for r in (8, 32, n))}
    if layer == "pv":
        return {"tm": rows, "tk": _uniq(min(keys, c) for c in (keys, 128))}
    if layer == "chain":
        return {"br": sorted(_uniq(min(n, b) for b in (n, 32, 64, 84, 128, 168))), "order": ["head", "block"],
                "h_resident": [0, 1]}
    raise ModelError(f"internal: unknown layer '{layer}'")


def inner_dim(layer: str, wl: Workload) -> int | None:
    m = wl.model
    return {"qkv": m.hidden, "kv": m.hidden, "out": m.hidden, "fc1": m.hidden, "fc2": m.ffn}.get(layer)


def _key(*parts) -> str:
    return json.dumps([p if isinstance(p, (int, float, str, bool, type(None), list, dict)) else repr(p) for p in parts],
                      sort_keys=True, default=str)


def head_working_set(wl: Workload, br: int | None = None) -> dict:
    """Bytes one TPHS head needs on chip at once with `br` token rows (default: the smallest of the search)."""
    m = wl.model
    br = br or min(space("chain", wl)["br"])
    return {"Wq_h": m.hidden * m.head_dim, "K_h": wl.keys * m.head_dim, "V_h": wl.keys * m.head_dim,
            "h rows": br * m.hidden, "Q": br * m.head_dim, "S": br * wl.keys, "P": br * wl.keys, "O": br * m.head_dim}


def best_layer(hw: Hardware, wl: Workload, layer, dataflow: str, name: str, packed, weak: bool, tag: str,
               before: tuple = ()) -> dict:
    """The best tiling of layer `name`, simulated behind `before` = (layer name, its params) if given
    (memoised per hardware, workload, packing and predecessor)."""
    sig = sorted((k, v.chunk, v.packet, v.encoding, v.total_bytes) for k, v in (packed or {}).items())
    key = _key(hw.to_json(), hw.dram.bytes_per_cycle, wl.to_json(), wl.model.name, name, tag, weak, list(before), sig,
               dataflow if name in ("qkv", "kv", "scores", "softmax", "pv", "chain") or
               (before and before[0] in ("pv", "chain")) else "any dataflow")
    if key in _CACHE:
        return _CACHE[key]
    sp = space(name, wl, inner_dim(name, wl))
    best = None
    tried = feasible = 0
    for values in itertools.product(*sp.values()):
        prm = dict(zip(sp, values))
        tried += 1
        tilings = {name: prm, **({before[0]: before[1]} if before else {})}
        try:
            p = dataflows.build(hw, wl, layer, dataflow, tilings, packed, weak, only=tuple(tilings))
        except Infeasible:
            continue
        tl = simulate(p.ops, hw)
        feasible += 1
        score = (tl.latency_cycles, sum(tl.energy_pj.values()))
        if best is None or score < best[0]:
            best = (score, prm)
    if best is None:
        if name == "chain":
            ws = head_working_set(wl)
            raise ModelError(f"the {hw.buffer.capacity_bytes:,}-byte {hw.buffer.name} of '{hw.name}' cannot hold one "
                             f"TPHS head's working set for {wl.model.name} {wl.phase} ({sum(ws.values()):,} bytes: "
                             + ", ".join(f"{k} {v:,}" for k, v in ws.items()) + "); use a larger buffer or fewer tokens")
        raise ModelError(f"no tiling of the {name} layer of {wl.model.name} ({dataflow} {wl.phase}) fits the "
                         f"{hw.buffer.capacity_bytes:,}-byte {hw.buffer.name} of '{hw.name}'; use a larger buffer")
    _CACHE[key] = {"params": best[1], "latency_cycles": best[0][0], "tried": tried, "feasible": feasible}
    return _CACHE[key]


def search(hw: Hardware, wl: Workload, layer, dataflow: str, packed=None, weak: bool = False, tag: str = "") -> dict:
    """Every layer's best tiling: {layer name: {"params", "latency_cycles" (of it behind its predecessor),
    "tried", "feasible"}}."""
    if dataflow == "tphs":
        ws = head_working_set(wl)
        if sum(ws.values()) > hw.buffer.capacity_bytes:
            raise ModelError(f"the {hw.buffer.capacity_bytes:,}-byte {hw.buffer.name} of '{hw.name}' cannot hold one "
                             f"TPHS head's working set for {wl.model.name} {wl.phase} ({sum(ws.values()):,} bytes: "
                             + ", ".join(f"{k} {v:,}" for k, v in ws.items()) + "); use a larger buffer or fewer tokens")
    out, before = {}, ()
    for name in LAYERS[dataflow]:
        out[name] = best_layer(hw, wl, layer, dataflow, name, packed, weak, tag, before)
        before = (name, out[name]["params"])
    return out

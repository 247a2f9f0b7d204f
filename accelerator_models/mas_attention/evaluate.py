"""One schedule with one tiling on one workload: simulate it on the engine and execute it numerically
against softmax(Q K^T / sqrt(d)) V.

Heads are independent and identical in shape. A full evaluation simulates every head. The search's quick
estimate (`full=False`, more than four heads) simulates 2 and 3 heads and extends the cost of one more head
(the difference) to all of them: exact for the per-head totals (MACs, bytes, energy); for latency only while
the pipeline repeats per head, which it need not — when DRAM is almost the bottleneck, prefetching absorbs
it for the first heads and the marginal head gets dearer later (ViT-B/16 under MAS: 20% low). So the estimate
is never below the busiest resource's total, and the search re-ranks its best tilings by full simulation:
every number it reports is simulated in full."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelerator_models.common.engine import Timeline, simulate
from accelerator_models.common.executor import execute
from accelerator_models.common.hardware import Hardware
from accelerator_models.common.program import Program
from accelerator_models.mas_attention import schedules
from accelerator_models.mas_attention.workloads import Attention

# float32 tiles, different summation orders (and the online softmax's rescaling) than the reference:
TOLERANCE = {"atol": 1e-5, "rtol": 1e-4}


@dataclass
class Evaluation:
    schedule: str
    params: dict
    latency_cycles: int
    energy_pj: float
    energy_breakdown_pj: dict
    dram_bytes: int
    mac_utilization: float
    vec_utilization: float
    peak_buffer_bytes: int
    simulated_heads: int
    program: Program | None   # of the full simulation (None for a quick estimate: the search keeps hundreds)
    timeline: Timeline | None

    def to_json(self) -> dict:
        return {"name": self.schedule, "params": self.params, "latency_cycles": self.latency_cycles,
                "energy_pj": self.energy_pj, "energy_breakdown_pj": self.energy_breakdown_pj,
                "dram_bytes": self.dram_bytes, "mac_utilization": self.mac_utilization,
                "vec_utilization": self.vec_utilization, "peak_buffer_bytes": self.peak_buffer_bytes,
                "simulated_heads": self.simulated_heads,
                **({"tile_cache": self.program.tile_cache_stats} if self.program and self.program.tile_cache_stats
                   else {})}


def evaluate(schedule: str, wl: Attention, hw: Hardware, params: dict, full: bool = True) -> Evaluation:
    """`full`: simulate every head; otherwise (more than four heads) the quick estimate above."""
    counts = [wl.heads] if full or wl.heads <= 4 else [2, 3]
    runs = []
    for h in counts:
        p = schedules.build(schedule, wl.with_heads(h), hw, params)
        runs.append((h, p, simulate(p.ops, hw)))
    (h1, _, t1), (h2, p2, t2) = runs[0], runs[-1]

    def ext(f):
        return f(t2) if h1 == h2 else f(t2) + (wl.heads - h2) * (f(t2) - f(t1))
    busy = {u: ext(lambda t, u=u: t.busy_cycles[u]) for u in t2.busy_cycles}
    # The two DMA queues share the DRAM channel: their busy cycles add up.
    latency = max(ext(lambda t: t.latency_cycles), busy["load"] + busy["store"], busy["mac"], busy["vec"])
    energy = {k: ext(lambda t, k=k: t.energy_pj[k]) for k in t2.energy_pj}
    return Evaluation(schedule, {**params, **schedules.fixed_params(schedule)}, int(latency), float(sum(energy.values())), energy,
                      int(ext(lambda t: t.dram_bytes)), busy["mac"] / latency, busy["vec"] / latency,
                      max(t.peak_buffer_bytes for _, _, t in runs), h2, *((p2, t2) if h1 == h2 else (None, None)))


def leading_heads(ev: Evaluation, wl: Attention, hw: Hardware, heads: int) -> tuple[Program, Timeline]:
    """The program and timeline of the evaluated schedule on the first `heads` heads only (the numerical check
    and the Gantt chart: every head runs the same tile program)."""
    if ev.program is not None and ev.simulated_heads == heads:
        return ev.program, ev.timeline
    p = schedules.build(ev.schedule, wl.with_heads(heads), hw, ev.params)
    return p, simulate(p.ops, hw)


def reference(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    """softmax(Q K^T / sqrt(d)) V per head, float64 accumulation rounded to float32."""
    q, k, v = (a.astype(np.float64) for a in (q, k, v))
    s = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])
    e = np.exp(s - s.max(-1, keepdims=True))
    return ((e / e.sum(-1, keepdims=True)) @ v).astype(np.float32)


def random_inputs(wl: Attention, heads: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {n: rng.standard_normal((heads, wl.seq_kv if n != "Q" else wl.seq_q, wl.head_dim)).astype(np.float32)
            for n in ("Q", "K", "V")}


# The numerical check executes the heads in groups whose float64 reference and score-sized tensors fit this budget
# (Llama at 4096 tokens, all 32 heads at once, needed more than the machine's 24 GB).
CHECK_BUDGET_BYTES = 2 << 30


def check_group(wl: Attention, budget: int = CHECK_BUDGET_BYTES) -> int:
    """How many heads the check executes together: about 32 bytes per score (the float64 reference's scores and
    exponentials, float32 S and P where a schedule keeps them in DRAM) within `budget`, at least 1."""
    return max(1, budget // (32 * wl.seq_q * wl.seq_kv))


def check_numerics(ev: Evaluation, wl: Attention, hw: Hardware, inputs: dict, group: int | None = None) -> dict:
    """Execute the evaluated schedule on `inputs` (Q, K, V of the first heads: all of them are checked), `group`
    heads at a time (default check_group: the program of that many heads, its cross-head overlap included, run
    on each group's inputs in turn)."""
    h = min(wl.heads, inputs["Q"].shape[0])
    group = min(h, group or check_group(wl))
    exact, err, programs = True, 0.0, {}
    for start in range(0, h, group):
        n = min(group, h - start)
        if n not in programs:
            programs[n] = leading_heads(ev, wl, hw, n)
        program, timeline = programs[n]
        dram = {name: np.ascontiguousarray(inputs[name][start:start + n], dtype=np.float32) for name in ("Q", "K", "V")}
        for name, shape in schedules.dram_tensors(wl.with_heads(n), ev.schedule).items():
            dram.setdefault(name, np.full(shape, np.nan, np.float32))
        execute(program.ops, timeline, dram, program.slot_shapes)
        ref = reference(dram["Q"], dram["K"], dram["V"])
        err = max(err, float(np.nanmax(np.abs(dram["O"] - ref))) if not np.isnan(dram["O"]).any() else float("inf"))
        exact = exact and bool(np.allclose(dram["O"], ref, **TOLERANCE))
    return {"exact": exact, "max_abs_error": err, "checked_heads": h}

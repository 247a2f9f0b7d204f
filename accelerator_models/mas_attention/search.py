"""The tiling search: the same search, on the same engine, for every schedule; the objective is the
end-to-end latency the engine simulates (energy breaks ties), or energy, or the energy-delay product. An
exhaustive grid when the space is small, otherwise a genetic algorithm (tournament selection, uniform crossover, mutation to a neighbouring value) on
two thirds of the evaluation budget, a local refinement of its three best tilings, and the genetic algorithm
again on what is left; seeded, with an optional time limit. Tilings are scored by the engine's quick
estimate; the best few are then simulated in full (every head) and the best of those is the result."""
from __future__ import annotations

import itertools
import math
import time

import numpy as np

from accelerator_models.common.errors import ModelError
from accelerator_models.common.hardware import Hardware
from accelerator_models.common.program import Infeasible
from accelerator_models.mas_attention import schedules
from accelerator_models.mas_attention.evaluate import Evaluation, evaluate
from accelerator_models.mas_attention.workloads import Attention


class NoTiling(ModelError):
    """The search found no feasible tiling of a schedule (none fits, or the time limit came first): `edge-sdk npu
    attention` reports that schedule as infeasible and goes on with the others."""


def _sizes(n: int, lo: int, hi: int) -> list:
    out = [b for b in (2 ** e for e in range(4, 12)) if lo <= b < n and b <= hi]
    return out + ([n] if n <= hi else []) or [min(n, lo)]


def space(schedule: str, wl: Attention) -> dict:
    """Tile sizes are powers of two (or the whole sequence). The row-fused and layer-wise schedules take key
    tiles of at least N/32 columns, since more than 32 key tiles per row block only adds per-tile overhead
    (array fill and drain, DMA latency); the key-tiled ones (flash, mas) from 32 columns, since with long rows
    their score tiles must stay small for the row blocks to grow (a tall row block is what keeps the array's
    fill and drain low). What the schedule's name fixes (a FLAT variant's K/V policy and DMA mode, mas-paper's
    tier and options) is not searched."""
    kind = schedules.family(schedule)
    key_tiled = kind in ("flash", "mas")
    br, bc = _sizes(wl.seq_q, 16, 512), _sizes(wl.seq_kv, 32 if key_tiled else max(32, wl.seq_kv // 32), 1024)
    sp = {"Br": br, "Bc": bc}
    if kind == "mas":
        sp.update(tier=["rows", "keys"], chunks=[1, 2, 4], keep=[0.0, 0.25, 0.5, 0.75, 1.0], lookahead=[0, 1],
                  serpentine=[1], fold_scale=[0, 1], rowsum=["vec", "mac"])
    else:
        sp["kv"] = list(schedules.KV_POLICIES)
    if kind == "flash":
        sp["lookahead"] = [0, 1]
    for name in schedules.fixed_params(schedule):
        sp.pop(name, None)
    return sp


def _key(prm: dict) -> tuple:
    return tuple(sorted(schedules.canonical(prm).items()))


FINALISTS = 3          # best estimated tilings simulated in full

OBJECTIVES = {"latency": lambda ev: (ev.latency_cycles, ev.energy_pj),
              "energy": lambda ev: (ev.energy_pj, ev.latency_cycles),
              "edp": lambda ev: (ev.latency_cycles * ev.energy_pj, ev.latency_cycles)}


def search(schedule: str, wl: Attention, hw: Hardware, max_evals: int = 64, time_limit: float | None = None,
           seed: int = 0, progress=None, objective: str = "latency", seeds=()) -> tuple[Evaluation, dict]:
    """The best tiling of `schedule` for `objective`: 'latency' (the default; energy breaks ties), 'energy'
    (latency breaks ties) or 'edp' (energy-delay product). `seeds`: tilings of the schedule's space the genetic
    search starts from (besides random ones), e.g. the best tilings of the schedules it generalises."""
    if objective not in OBJECTIVES:
        raise ModelError(f"unknown objective '{objective}'; choose from: {', '.join(OBJECTIVES)}")
    goal = OBJECTIVES[objective]
    sp = space(schedule, wl)
    names = list(sp)
    size = math.prod(len(v) for v in sp.values())
    seen: dict = {}
    start = time.perf_counter()

    def score(prm: dict):
        k = _key(prm)
        if k not in seen:
            try:
                seen[k] = evaluate(schedule, wl, hw, prm, full=False)
            except Infeasible:
                seen[k] = None
            if progress:
                progress()
        ev = seen[k]
        return (math.inf, math.inf) if ev is None else goal(ev)

    def out_of_budget(evals=max_evals):
        return len(seen) >= evals or (time_limit is not None and time.perf_counter() - start > time_limit)

    if size <= max_evals:
        method = "grid"
        for values in itertools.product(*sp.values()):
            if time_limit is not None and time.perf_counter() - start > time_limit:
                break
            score(dict(zip(names, values)))
    else:
        method = "genetic"
        rng = np.random.default_rng(seed)

        def rand():
            return {n: sp[n][rng.integers(len(sp[n]))] for n in names}
        starts = [prm for prm in seeds if all(prm.get(n) in sp[n] for n in names)]
        pop = [{n: prm[n] for n in names} for prm in starts][:12]
        pop += [rand() for _ in range(12 - len(pop))]
        for prm in pop:
            score(prm)

        def evolve(limit):
            stale = 0
            while not out_of_budget(limit) and stale < 40:
                def pick():
                    group = [pop[i] for i in rng.choice(len(pop), 3, replace=False)]
                    return min(group, key=lambda p: (score(p), _key(p)))
                a, b = pick(), pick()
                child = {n: (a if rng.random() < 0.5 else b)[n] for n in names}
                for n in names:
                    if rng.random() < 0.25:
                        i = sp[n].index(child[n]) + int(rng.choice([-1, 1]))
                        child[n] = sp[n][min(max(i, 0), len(sp[n]) - 1)]
                before = len(seen)
                score(child)
                stale = stale + 1 if len(seen) == before else 0
                worst = max(range(len(pop)), key=lambda i: (score(pop[i]), _key(pop[i])))
                if score(child) < score(pop[worst]) and _key(child) not in {_key(p) for p in pop}:
                    pop[worst] = child

        def refine(best):
            """Move to a better neighbour (one factor one step) until none is better."""
            improved = True
            while improved and not out_of_budget():
                improved = False
                for n in names:
                    i = sp[n].index(best[n])
                    for j in (i - 1, i + 1):
                        if 0 <= j < len(sp[n]) and not out_of_budget():
                            cand = {**best, n: sp[n][j]}
                            if score(cand) < score(best):
                                best, improved = cand, True

        evolve(2 * max_evals // 3)
        for start_point in sorted(pop, key=lambda p: (score(p), _key(p)))[:3]:
            refine(start_point)
        evolve(max_evals)
    feasible = {k: ev for k, ev in seen.items() if ev is not None}
    if not feasible and len(seen) < min(size, max_evals):
        raise NoTiling(f"the time limit ({time_limit} s) ended the search of '{schedule}' after {len(seen)} tilings, "
                         "before a feasible one was found: allow more time")
    if not feasible:
        raise NoTiling(f"no tiling of schedule '{schedule}' fits the {hw.buffer.capacity_bytes:,}-byte "
                         f"{hw.buffer.name} of '{hw.name}' for workload '{wl.name}' (seq {wl.seq_q} x {wl.seq_kv}, head "
                         f"dim {wl.head_dim}); even the smallest tiles are too large: use a larger buffer")
    # Past the time limit only the best estimate is simulated in full (every reported number must be).
    late = time_limit is not None and time.perf_counter() - start > time_limit
    ranked = sorted(feasible.values(), key=lambda ev: (goal(ev), _key(ev.params)))[:1 if late else FINALISTS]
    finalists = [ev if ev.simulated_heads == wl.heads else evaluate(schedule, wl, hw, ev.params) for ev in ranked]
    best = min(finalists, key=lambda ev: (goal(ev), _key(ev.params)))
    return best, {"method": method, "space": size, "evaluated": len(seen), "feasible": len(feasible),
                  "simulated_in_full": len(finalists), "seconds": time.perf_counter() - start}

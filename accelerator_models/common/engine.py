"""The event-driven engine: runs a tile program on the hardware's resources and returns its timeline.

Resources: the units 'load', 'store' (two DMA queues sharing one DRAM channel), 'mac' and 'vec' (or whatever
units the hardware has: PE groups, a softmax unit, an unpack unit — `Hardware.units`), each taking its
operations in program order, one at a time; and the on-chip buffer, whose bytes an operation allocates
when it starts and a 'sync' free releases when every reader of the slot has finished. An operation starts
at the earliest time its unit (and, for DMA, the DRAM channel) is free, every dependency has finished and its
allocation fits the buffer; allocations are granted in program order (a prefetch may not take the space an
earlier operation needs — with the builder's check that every program-order prefix fits, this makes the
program deadlock-free). A program that can never make progress (an allocation that cannot fit while
nothing else can run) is an error, never a silent spill; so is a free of a slot that is not live (allocated and
not yet freed: a free whose dependencies were lost fires too early), and the occupancy never goes below zero."""
from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass

from accelerator_models.common.errors import ModelError
from accelerator_models.common.hardware import Hardware
from accelerator_models.common.program import Op


@dataclass
class Timeline:
    start: list
    end: list
    latency_cycles: int
    busy_cycles: dict          # unit -> cycles busy
    peak_buffer_bytes: int
    dram_read_bytes: int
    dram_write_bytes: int
    energy_pj: dict            # component -> pJ

    @property
    def dram_bytes(self) -> int:
        return self.dram_read_bytes + self.dram_write_bytes


def simulate(ops: list[Op], hw: Hardware) -> Timeline:
    n = len(ops)
    start, end = [None] * n, [None] * n
    units = hw.units
    queues = {u: deque() for u in units}
    waiting_syncs = {}                      # sync op -> number of dependencies not yet started
    dependents = [[] for _ in range(n)]
    for op in ops:
        if op.unit == "sync":
            waiting_syncs[op.id] = len(op.deps)
            for d in op.deps:
                dependents[d].append(op.id)
        else:
            queues[op.unit].append(op)
    unit_free = dict.fromkeys(units, 0)
    dram_free = 0
    capacity = hw.buffer.capacity_bytes
    slot_bytes = {slot: b for op in ops for slot, b in op.alloc}
    need_of = [sum(b for _, b in op.alloc) for op in ops]
    alloc_order = deque(op.id for op in ops if need_of[op.id])
    occupied = peak = 0
    live = set()                            # slots allocated and not yet freed
    frees = []                              # heap of (time, sync op id)
    times = [0]                             # heap of candidate event times
    busy = dict.fromkeys(units, 0)
    remaining = n

    def started(op_id: int, t0: int, t1: int) -> None:
        start[op_id], end[op_id] = t0, t1
        heapq.heappush(times, t1)
        for s in dependents[op_id]:
            waiting_syncs[s] -= 1
            if waiting_syncs[s] == 0:
                settle(s)

    def settle(s: int) -> None:
        t = max((end[d] for d in ops[s].deps), default=0)
        heapq.heappush(frees, (t, s))
        heapq.heappush(times, t)

    for s, count in list(waiting_syncs.items()):
        if count == 0:
            settle(s)
    t = 0
    while remaining:
        while frees and frees[0][0] <= t:
            ts, s = heapq.heappop(frees)
            start[s] = end[s] = ts
            remaining -= 1
            for slot in ops[s].free:
                if slot not in live:
                    raise ModelError(f"'{ops[s].name}' frees slot '{slot}' at cycle {ts:,}, when it is not live (not "
                                     "yet allocated, or already freed): the schedule is missing a dependency")
                live.remove(slot)
                occupied -= slot_bytes[slot]
            assert occupied >= 0, f"buffer occupancy {occupied} < 0 after '{ops[s].name}'"
            for d in dependents[s]:
                waiting_syncs[d] -= 1
                if waiting_syncs[d] == 0:
                    settle(d)
        progress = True
        while progress:
            progress = False
            for unit in units:
                q = queues[unit]
                if not q or unit_free[unit] > t:
                    continue
                op = q[0]
                dma = unit in ("load", "store")
                if dma and dram_free > t:
                    continue
                if any(end[d] is None or end[d] > t for d in op.deps):
                    continue
                need = need_of[op.id]
                if need and (alloc_order[0] != op.id or occupied + need > capacity):
                    continue
                if need:
                    alloc_order.popleft()
                live.update(slot for slot, _ in op.alloc)
                q.popleft()
                occupied += need
                peak = max(peak, occupied)
                busy[unit] += op.cycles
                unit_free[unit] = t + op.cycles
                if dma:
                    dram_free = t + op.cycles
                heapq.heappush(times, t + op.cycles)
                started(op.id, t, t + op.cycles + op.latency)
                remaining -= 1
                progress = True
        if not remaining:
            break
        while times and times[0] <= t:
            heapq.heappop(times)
        if not times:
            stuck = [q[0] for q in queues.values() if q]
            what = "; ".join(f"{op.unit}: '{op.name}' (needs {need_of[op.id]:,} bytes)" for op in stuck)
            raise ModelError(f"the schedule deadlocks at cycle {t:,} with {occupied:,} of {capacity:,} bytes of "
                             f"{hw.buffer.name} occupied; waiting: {what}")
        t = heapq.heappop(times)
    latency = max((e for e in end if e is not None), default=0)
    sums = {k: sum(getattr(op, k) for op in ops) for k in
            ("macs", "vec_ops", "buffer_read", "buffer_write", "dram_read", "dram_write")}
    e = hw.energy
    energy = {"mac": sums["macs"] * e.mac, "vec": sums["vec_ops"] * e.vec_op,
              "buffer": sums["buffer_read"] * e.buffer_read_per_byte + sums["buffer_write"] * e.buffer_write_per_byte,
              "dram": sums["dram_read"] * e.dram_read_per_byte + sums["dram_write"] * e.dram_write_per_byte}
    return Timeline(start, end, latency, busy, peak, sums["dram_read"], sums["dram_write"], energy)

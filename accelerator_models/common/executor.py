"""The numerical executor: the same tile program run on numpy arrays, in the engine's time order.

An operation reads its inputs when it starts and its results land when it ends; a freed slot is gone. So a
missing dependency (a reader that starts before its producer ends) or a tile overwritten too early shows up
as a read of a slot that is not there or as a wrong number — the numbers prove the schedule, not only the
arithmetic. Frees and writes are checked too: a slot written or freed must be live (allocated when its first
writer started, not yet freed), and no operation may still be reading or writing a slot being freed. Tiles are float32, except integer results (int8
data paths, int32 accumulators), which are kept exactly as float64 (integers up to 2^53; unwritten parts
NaN)."""
from __future__ import annotations

import numpy as np

from accelerator_models.common.engine import Timeline
from accelerator_models.common.errors import ModelError
from accelerator_models.common.program import Op

_LAND, _FREE, _START = 0, 1, 2      # the order of events at equal times


def execute(ops: list[Op], timeline: Timeline, dram: dict[str, np.ndarray], shapes: dict) -> dict:
    """Run `ops`; `dram` maps DRAM tensor names to arrays (outputs are written into them). Returns `dram`."""
    # Events at equal times: results land first, then frees, then operations allocate and read their inputs.
    events = []
    for op in ops:
        if op.unit == "sync":
            if op.free:
                events.append((timeline.end[op.id], _FREE, op.id))
        elif op.fn is not None or op.alloc:
            events.append((timeline.start[op.id], _START, op.id))
            if op.fn is not None:
                events.append((timeline.end[op.id], _LAND, op.id))
    events.sort()
    store: dict[str, np.ndarray] = {}
    live: set = set()
    pending: dict[int, list] = {}
    touched_by: dict[int, set] = {}       # operation in flight -> the slots it reads or writes
    in_flight: dict[str, set] = {}        # slot -> operations in flight that read or write it

    def dtype(value):
        return np.float64 if np.asarray(value).dtype.kind in "iub" else np.float32

    for _, kind, oid in events:
        op = ops[oid]
        if kind == _START:
            live.update(slot for slot, _ in op.alloc)
            if op.fn is None:
                continue
            touched = set()

            def get(name: str) -> np.ndarray:
                if name in dram:
                    return dram[name]
                if name not in store:
                    raise ModelError(f"'{op.name}' read tile '{name}' that is not in the buffer (not yet written or "
                                     "already freed): the schedule is missing a dependency")
                touched.add(name)
                return store[name]
            pending[oid] = op.fn(get)
            for target, _, _ in pending[oid]:
                if target not in dram and target not in live:
                    raise ModelError(f"'{op.name}' writes tile '{target}' that is not live (not yet allocated or "
                                     "already freed): the schedule is missing a dependency")
                if target not in dram:
                    touched.add(target)
            touched_by[oid] = touched
            for slot in touched:
                in_flight.setdefault(slot, set()).add(oid)
        elif kind == _FREE:
            for slot in op.free:
                if slot not in live:
                    raise ModelError(f"'{op.name}' frees tile '{slot}' that is not live (not yet allocated or already "
                                     "freed): the schedule is missing a dependency")
                busy = in_flight.get(slot)
                if busy:
                    raise ModelError(f"'{op.name}' frees tile '{slot}' while '{ops[min(busy)].name}' still reads or "
                                     "writes it: the schedule is missing a dependency")
                live.remove(slot)
                store.pop(slot, None)
        else:
            for target, index, value in pending.pop(oid):
                if target in dram:
                    dram[target][index] = value
                elif index is None:
                    store[target] = np.asarray(value, dtype=dtype(value))
                else:
                    if target not in store:   # first partial writer: unwritten parts stay NaN
                        store[target] = np.full(shapes[target], np.nan, dtype=dtype(value))
                    store[target][index] = value
            for slot in touched_by.pop(oid):
                in_flight[slot].discard(oid)
                if not in_flight[slot]:
                    del in_flight[slot]
    return dram

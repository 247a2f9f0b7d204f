"""The numerical executor: the same tile program run on numpy arrays, in the engine's time order.

An operation reads its inputs when it starts and its results land when it ends; a freed slot is gone. So a
missing dependency (a reader that starts before its producer ends) or a tile overwritten too early shows up
as a read of a slot that is not there or as a wrong number — the numbers prove the schedule, not only the
arithmetic. Tiles are float32, except integer results (int8 data paths, int32 accumulators), which are kept
exactly as float64 (integers up to 2^53; unwritten parts NaN)."""
from __future__ import annotations

import numpy as np

from accelerator_models.common.engine import Timeline
from accelerator_models.common.errors import ModelError
from accelerator_models.common.program import Op


def execute(ops: list[Op], timeline: Timeline, dram: dict[str, np.ndarray], shapes: dict) -> dict:
    """Run `ops`; `dram` maps DRAM tensor names to arrays (outputs are written into them). Returns `dram`."""
    # Events at equal times: results land first (0), then frees (1), then operations read their inputs (2).
    events = []
    for op in ops:
        if op.unit == "sync":
            if op.free:
                events.append((timeline.end[op.id], 1, op.id))
        elif op.fn is not None:
            events.append((timeline.start[op.id], 2, op.id))
            events.append((timeline.end[op.id], 0, op.id))
    events.sort()
    store: dict[str, np.ndarray] = {}
    pending: dict[int, list] = {}

    def get(name: str) -> np.ndarray:
        if name in dram:
            return dram[name]
        if name not in store:
            raise ModelError(f"operation read tile '{name}' that is not in the buffer (not yet written or already "
                             "freed): the schedule is missing a dependency")
        return store[name]

    def dtype(value):
        return np.float64 if np.asarray(value).dtype.kind in "iub" else np.float32

    for _, kind, oid in events:
        op = ops[oid]
        if kind == 2:
            pending[oid] = op.fn(get)
        elif kind == 1:
            for slot in op.free:
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
    return dram

"""A tile program: the DAG of tile operations a schedule issues, built in program order.

Each operation runs on one unit ('load' and 'store' are the two DMA queues sharing the DRAM channel, 'mac',
'vec', and whatever else the hardware has: PE groups, 'softmax', 'unpack' — `Hardware.units`; 'sync' is a
zero-time bookkeeping step such as freeing a buffer). Units take their operations in
program order. Dependencies come from what each operation reads and writes (a scoreboard over named slots:
read-after-write, write-after-read, write-after-write), so a schedule only says what it reads and writes.

Every on-chip tile lives in a slot: allocated (its bytes counted against the buffer) when the operation that
first writes it starts, freed by `free()` once its last reader has finished. The builder tracks the bytes
live in program order and raises when a schedule needs more than the buffer holds; a schedule may instead
give `make_room` a policy that overwrites tiles it can reload (see `TileCache`). A slot's bytes are its
elements times the hardware's word size, unless the allocation names them: `new=[(slot, shape, nbytes)]`
(int32 accumulators on an int8 data path, a packed weight stream)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from accelerator_models.common.errors import Infeasible, ModelError  # noqa: F401 (Infeasible: re-exported)
from accelerator_models.common.hardware import Hardware

UNITS = ("load", "store", "mac", "vec")


@dataclass
class Op:
    id: int
    name: str
    unit: str
    cycles: int
    deps: list
    alloc: list              # [(slot, bytes)] allocated when the op starts
    free: list               # [slot] released when the op (a sync) completes
    fn: object = None        # numerical semantics: fn(get) -> [(target, index, value)]
    macs: int = 0
    vec_ops: int = 0
    buffer_read: int = 0
    buffer_write: int = 0
    dram_read: int = 0
    dram_write: int = 0
    latency: int = 0         # DMA: cycles after the channel is released until the data has landed


@dataclass
class Program:
    hw: Hardware
    ops: list = field(default_factory=list)
    shapes: dict = field(default_factory=dict)        # live slot -> shape
    nbytes: dict = field(default_factory=dict)        # live slot -> bytes
    slot_shapes: dict = field(default_factory=dict)   # every slot ever allocated -> shape
    live_bytes: int = 0
    make_room: object = None                           # callback(bytes_needed, protect) -> frees tiles
    capacity: float | None = None                      # the buffer's bytes (None: the hardware's)
    serial: bool = False                               # every operation waits for the one before (no overlap)
    tile_cache_stats: dict | None = None               # hits, misses, evictions of a TileCache, if one was used
    _writer: dict = field(default_factory=dict)        # slot -> last writer op ids (several for DRAM tensors)
    _readers: dict = field(default_factory=dict)       # slot -> reader op ids since the last write
    _allocator: dict = field(default_factory=dict)     # live slot -> the op that allocated it
    _uid: int = 0
    _barrier: int | None = None

    def new_slot(self, stem: str) -> str:
        self._uid += 1
        return f"{stem}#{self._uid}"

    def slot_bytes(self, shape) -> int:
        return math.prod(shape) * self.hw.word_bytes

    def _deps(self, reads, writes, partial: bool) -> set:
        deps = set()
        for s in reads:
            deps.update(self._writer.get(s, ()))
        for s in writes:
            deps.update(self._readers.get(s, ()))
            if not partial:
                deps.update(self._writer.get(s, ()))
        return deps

    def emit(self, name: str, unit: str, cycles: int, reads=(), writes=(), new=(), fn=None, partial=False,
             extra_deps=(), **counts) -> int:
        """Append an operation. `new` = [(slot, shape)] slots this op allocates (first writer); `partial` marks
        a write to part of a slot (several writers may fill disjoint parts, e.g. column tiles of a score
        block, or a DRAM tensor)."""
        assert unit in self.hw.units, (unit, self.hw.units)
        new = [(n[0], tuple(n[1]), int(n[2]) if len(n) > 2 else self.slot_bytes(n[1])) for n in new]
        need = sum(b for _, _, b in new)
        capacity = self.hw.buffer.capacity_bytes if self.capacity is None else self.capacity
        if self.live_bytes + need > capacity and self.make_room:
            self.make_room(self.live_bytes + need - capacity, protect=set(reads) | set(writes))
        if self.live_bytes + need > capacity:
            raise Infeasible(f"'{name}' needs {need:,} more bytes of {self.hw.buffer.name} while {self.live_bytes:,} are "
                             f"live: more than its {capacity:,} bytes; use smaller tiles")
        oid = len(self.ops)
        deps = self._deps(reads, writes, partial) | set(extra_deps)
        if self._barrier is not None:
            deps.add(self._barrier)
        if self.serial and self.ops:
            deps.add(len(self.ops) - 1)
        for slot, shape, b in new:
            if slot in self.shapes:
                raise ModelError(f"internal: '{name}' allocates slot '{slot}', which is already live")
            self._allocator[slot] = oid
            self.shapes[slot] = self.slot_shapes[slot] = shape
            self.nbytes[slot] = b
            self.live_bytes += b
        for s in reads:
            self._readers.setdefault(s, []).append(oid)
        for s in writes:
            if partial:
                self._writer.setdefault(s, []).append(oid)
            else:
                self._writer[s] = [oid]
            self._readers[s] = []
        latency = self.hw.dram.latency_cycles if unit in ("load", "store") else 0
        self.ops.append(Op(oid, name, unit, int(cycles), sorted(deps), [(s, b) for s, _, b in new],
                           [], fn, latency=latency,
                           **counts))
        return oid

    def free(self, *slots: str) -> int:
        """Release on-chip slots once every reader and writer of them (and the operation that allocated them,
        which need not be either) has finished."""
        deps = set()
        for s in slots:
            if s not in self.shapes:
                raise ModelError(f"internal: free of slot '{s}' that is not live")
            deps.add(self._allocator.pop(s))
            deps.update(self._writer.pop(s, ()))
            deps.update(self._readers.pop(s, ()))
            self.shapes.pop(s)
            self.live_bytes -= self.nbytes.pop(s)
        if self.serial and self.ops:       # the chain of a serial program runs through its frees too
            deps.add(len(self.ops) - 1)
        oid = len(self.ops)
        self.ops.append(Op(oid, "free " + " ".join(slots), "sync", 0, sorted(deps), [], list(slots)))
        return oid

    # --- the standard tile operations ----------------------------------------------------------------
    def load(self, name: str, slot: str, tensor: str, index, shape, ones_column: bool = False,
             prescaled: float | None = None) -> int:
        """Load tensor[index] (`shape`) into a new slot. `ones_column`: the tile lands beside a column of ones
        preset in its slot (shape[1] + 1 columns: P [V 1] gives the row sums of P on the matrix unit).
        `prescaled`: the tensor as its producer writes it with this factor folded into its weights ahead of time
        (1/sqrt(d) into the Q projection): the numbers are scaled here, at no cost, as that producer would."""
        nbytes = self.slot_bytes(shape)

        def fn(get):
            tile = get(tensor)[index]
            if prescaled is not None:
                tile = tile * np.float32(prescaled)
            if ones_column:
                tile = np.hstack([tile, np.ones((tile.shape[0], 1), tile.dtype)])
            return [(slot, None, tile.copy())]
        if ones_column:
            shape = (shape[0], shape[1] + 1)
        return self.emit(name, "load", self.hw.dma_cycles(nbytes), reads=(tensor,), writes=(slot,),
                         new=[(slot, shape)], fn=fn, dram_read=nbytes, buffer_write=nbytes)

    def store(self, name: str, slot: str, tensor: str, index, part=None) -> int:
        """Store a slot (or `part`, a tuple of slices of it) to tensor[index]."""
        shape = self.shapes[slot]
        if part is not None:
            shape = tuple(len(range(*sl.indices(n))) for sl, n in zip(part, shape))
        nbytes = self.slot_bytes(shape)

        def fn(get):
            tile = get(slot)
            return [(tensor, index, (tile if part is None else tile[part]).copy())]
        return self.emit(name, "store", self.hw.dma_cycles(nbytes), reads=(slot,), writes=(tensor,), partial=True,
                         fn=fn, dram_write=nbytes, buffer_read=nbytes)

    def gemm(self, name: str, m: int, k: int, n: int, reads, writes, fn, new=(), partial=False, extra_deps=()) -> int:
        wb = self.hw.word_bytes
        return self.emit(name, "mac", self.hw.gemm_cycles(m, k, n), reads=reads, writes=writes, new=new, fn=fn,
                         partial=partial, extra_deps=extra_deps, macs=m * k * n,
                         buffer_read=(m * k + k * n) * wb, buffer_write=m * n * wb)

    def vec(self, name: str, ops: dict, elements_in: int, elements_out: int, reads, writes, fn, new=(),
            partial=False, resident: int = 0) -> int:
        """Elementwise work on the vector unit; `resident`: the elements a row-wise operation holds at once (its
        rows), which must fit the unit's local buffer."""
        if not self.hw.vec_fits(resident):
            raise Infeasible(f"'{name}' holds {resident * self.hw.word_bytes:,} bytes of rows, more than the vector "
                             f"unit's {self.hw.vec.local.bytes:,}-byte local buffer: use smaller tiles")
        wb = self.hw.word_bytes
        work = sum(n * (self.hw.vec.cycles[op] if op == "exp" else 1) for op, n in ops.items())
        return self.emit(name, "vec", self.hw.vec_cycles(ops, elements_in, elements_out), reads=reads, writes=writes,
                         new=new, fn=fn, partial=partial, vec_ops=work, buffer_read=elements_in * wb,
                         buffer_write=elements_out * wb)

    def barrier(self) -> int:
        """A sync that waits for every operation so far (those since the last barrier, and that barrier); every
        later operation waits for it (between layers, or a fence against prefetching across blocks)."""
        oid = len(self.ops)
        first = 0 if self._barrier is None else self._barrier
        self.ops.append(Op(oid, "barrier", "sync", 0, list(range(first, oid)), [], []))
        self._barrier = oid
        return oid


class TileCache:
    """Which reloadable tiles (clean inputs such as K and V tiles) stay resident, decided with the future
    access sequence known (Belady's MIN): when something new must fit, overwrite first the tiles never used
    again (dead), then the one used farthest in the future — clean tiles are reloaded, never written back.
    The tiles held never exceed `budget` bytes, so the rest of the buffer stays free for prefetching."""

    def __init__(self, program: Program, sequence: list, budget: float = math.inf):
        self.p, self.budget = program, budget
        self.next_use = [0] * len(sequence)
        last = {}
        for i in range(len(sequence) - 1, -1, -1):
            self.next_use[i] = last.get(sequence[i], math.inf)
            last[sequence[i]] = i
        self.sequence, self.pos = sequence, 0
        self.resident = {}       # key -> (slot, next use position)
        self.held = 0
        self.hits = self.misses = self.evictions = 0
        program.make_room = self.evict

    def access(self, key, nbytes: int, load) -> str:
        """The slot holding tile `key` (`nbytes` bytes); `load(slot)` emits its load on a miss."""
        if self.sequence[self.pos] != key:
            raise ModelError(f"internal: tile access {key} out of the announced order (expected {self.sequence[self.pos]})")
        nxt = self.next_use[self.pos]
        self.pos += 1
        if key in self.resident:
            self.hits += 1
            slot = self.resident[key][0]
        else:
            self.misses += 1
            if self.held + nbytes > self.budget:
                self.evict(self.held + nbytes - self.budget)
            slot = self.p.new_slot(str(key))
            load(slot)
            self.held += nbytes
        self.resident[key] = (slot, nxt)
        return slot

    def evict(self, needed: int, protect=frozenset()) -> None:
        """Free resident tiles (never one the operation being built reads or writes) until `needed` bytes."""
        order = sorted((k for k in self.resident if self.resident[k][0] not in protect),
                       key=lambda k: -self.resident[k][1])
        freed = 0
        for key in order:
            if freed >= needed:
                break
            freed += self.drop(key)
            self.evictions += 1

    def drop(self, key) -> int:
        slot = self.resident.pop(key)[0]
        nbytes = self.p.nbytes[slot]
        self.held -= nbytes
        self.p.free(slot)
        return nbytes

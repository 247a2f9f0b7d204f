"""The attention schedules, each a builder of a tile program for one workload, hardware and tiling.

- `layerwise`: QK^T, softmax and P.V as three layers through DRAM (a barrier between layers).
- `flat`: FLAT — fused at row granularity: a block of Br query rows computes its full Br x N score rows on
  chip, softmax, then P.V; the MAC and VEC stages of a block run one after the other.
- `flash`: FlashAttention-2 — Br x Bc score tiles with the online softmax (running max and sum, the output
  rescaled per key tile); optionally the next tile's QK^T is issued before this tile's P.V (lookahead).
- `mas`: MAS-Attention — row-fused like FLAT, but two streams: the MAC unit computes QK^T of block i+1 and
  P.V of block i while the VEC unit computes the softmax of block i (`lookahead`; without it, when two score
  blocks do not fit, only the chunks of one block overlap); an inner tier splits a block into `chunks` row
  chunks so P.V of a chunk starts when its softmax is done; and the proactive overwrite policy keeps K/V tiles
  resident within a budget (`keep`, a fraction of the buffer: the rest stays free for prefetching; 0 keeps only
  the tile in use, i.e. streams K and V like the baselines can) and, when
  the next tile will not fit, overwrites the dead ones or the one needed farthest in the future (clean tiles:
  reloaded, never written back), visiting the key tiles in serpentine order so the tiles kept are the first
  needed.
The baselines keep K and V either resident for a head or stream them per use (`kv`), whichever the search
finds faster; only MAS gets the overwrite policy. FLAT and MAS normalise the output rows after P.V instead
of the probabilities before it (as FlashAttention-2 does: a division per output, Br x d, instead of per
score, Br x N); layer-wise has a standalone softmax layer that writes normalised P."""
from __future__ import annotations

import math

import numpy as np

from accelerator_models.common.errors import ModelError
from accelerator_models.common.hardware import Hardware
from accelerator_models.common.program import Program, TileCache
from accelerator_models.mas_attention.workloads import Attention

SCHEDULES = ("layerwise", "flat", "flash", "mas")


def _ranges(n: int, b: int) -> list:
    return [(s, min(s + b, n)) for s in range(0, n, b)]


class _KV:
    """How K and V tiles are held: `resident` (loaded once per head), `stream` (loaded for every use and freed
    after it), `overwrite` (MAS: `TileCache`), `record` (a first pass that records the access order)."""

    def __init__(self, p: Program, wl: Attention, policy: str, sequence=None, budget: float = math.inf):
        self.p, self.wl, self.policy = p, wl, policy
        self.slots, self.sequence = {}, []
        self.cache = TileCache(p, sequence, budget) if policy == "overwrite" else None

    def get(self, tensor: str, h: int, c0: int, c1: int) -> str:
        key = (tensor, h, c0)

        def load(slot):
            self.p.load(f"load {tensor} h{h} [{c0}:{c1}]", slot, tensor, (h, slice(c0, c1)), (c1 - c0, self.wl.head_dim))

        if self.policy == "overwrite":
            return self.cache.access(key, self.p.slot_bytes((c1 - c0, self.wl.head_dim)), load)
        if self.policy == "resident" and key in self.slots:
            return self.slots[key]
        if self.policy == "record":
            self.sequence.append(key)
        slot = self.p.new_slot(f"{tensor}{h}.{c0}")
        load(slot)
        if self.policy == "resident":
            self.slots[key] = slot
        return slot

    def done(self, slot: str) -> None:
        if self.policy in ("stream", "record"):
            self.p.free(slot)

    def end_head(self, h: int) -> None:
        if self.policy == "resident":
            for key in [k for k in self.slots if k[1] == h]:
                self.p.free(self.slots.pop(key))
        elif self.policy == "overwrite":
            for key in [k for k in self.cache.resident if k[1] == h]:
                self.cache.drop(key)


def _softmax(s: str, scale: float):
    """The softmax layer of the layer-wise schedule: scaled scores in, normalised probabilities out."""
    def fn(get):
        x = get(s) * np.float32(scale)
        e = np.exp(x - x.max(1, keepdims=True))
        return [(s, None, e / e.sum(1, keepdims=True))]
    return fn


def _softmax_ops(rows: int, cols: int) -> dict:
    n = rows * cols
    return {"mul": 2 * n, "max": n, "add": 2 * n, "exp": n, "div": rows}


def _exp_rows(s: str, l: str, scale: float):
    """Unnormalised probabilities exp(scale * s - rowmax) in place, and their row sums."""
    def fn(get):
        x = get(s) * np.float32(scale)
        e = np.exp(x - x.max(1, keepdims=True))
        return [(s, None, e), (l, None, e.sum(1, keepdims=True))]
    return fn


def _row_fused(p: Program, wl: Attention, prm: dict, kv: _KV, overlap: bool, serial: bool) -> None:
    br, bc = prm["Br"], prm["Bc"]
    bv = math.ceil(br / prm.get("chunks", 1))
    d, nk, scale = wl.head_dim, wl.seq_kv, 1 / math.sqrt(wl.head_dim)
    blocks = [(h, r0, r1, i) for h in range(wl.heads) for i, (r0, r1) in enumerate(_ranges(wl.seq_q, br))]
    cols = _ranges(nk, bc)
    scores = {}

    def order(i):
        return cols[::-1] if prm.get("serpentine") and i % 2 else cols

    def qk(b, after=None):
        h, r0, r1, i = blocks[b]
        q = p.new_slot(f"Q{h}.{r0}")
        p.load(f"load Q h{h} [{r0}:{r1}]", q, "Q", (h, slice(r0, r1)), (r1 - r0, d))
        chunks = _ranges(r1 - r0, bv)
        s = [p.new_slot(f"S{h}.{r0 + a}") for a, _ in chunks]
        # The row sums of each chunk (written by its softmax) are allocated with its scores: an allocation by the
        # softmax would queue behind the next block's scores, since allocations are granted in program order.
        sums = [p.new_slot(f"l{h}.{r0 + a}") for a, _ in chunks]
        for n, (c0, c1) in enumerate(order(i)):
            k = kv.get("K", h, c0, c1)

            def fn(get, q=q, k=k, c0=c0, c1=c1):
                prod = get(q) @ get(k).T
                return [(sl, (slice(None), slice(c0, c1)), prod[a:e]) for sl, (a, e) in zip(s, chunks)]
            p.gemm(f"QK h{h} r{r0} c{c0}", r1 - r0, d, c1 - c0, reads=(q, k), writes=tuple(s), fn=fn, partial=True,
                   new=[(sl, shape) for (a, e), s_l, l_l in zip(chunks, s, sums)
                        for sl, shape in ((s_l, (e - a, nk)), (l_l, (e - a, 1)))] if n == 0 else (),
                   extra_deps=(after,) if after is not None and n == 0 else ())
            kv.done(k)
        p.free(q)
        scores[b] = (s, sums, chunks)

    pending = []          # output chunks whose normalisation and store are not issued yet

    def flush() -> None:
        """Normalise and store the pending output chunks. The vector unit takes its work in order, so with two
        streams a chunk's normalisation is issued after the next chunk's softmax (its P.V runs meanwhile)."""
        while pending:
            name, o, sums, index, rows = pending.pop(0)
            p.vec(f"normalise O {name}", {"div": rows, "mul": rows * d}, rows * d + rows, rows * d,
                  reads=(o, sums), writes=(o,), fn=lambda get, o=o, sums=sums: [(o, None, get(o) / get(sums))])
            p.free(sums)
            p.store(f"store O {name}", o, "O", index)
            p.free(o)

    def softmax_pv(b) -> int:
        h, r0, r1, i = blocks[b]
        s_slots, sum_slots, chunks = scores.pop(b)
        last = None
        for s, sums, (a, e) in zip(s_slots, sum_slots, chunks):
            rows, n = e - a, (e - a) * nk
            p.vec(f"softmax h{h} r{r0 + a}", {"mul": n, "max": n, "add": 2 * n, "exp": n}, n, n + rows,
                  reads=(s,), writes=(s, sums), fn=_exp_rows(s, sums, scale))
            flush()
            o = p.new_slot(f"O{h}.{r0 + a}")
            for n, (c0, c1) in enumerate(order(i)):
                v = kv.get("V", h, c0, c1)

                def fn(get, s=s, v=v, o=o, c0=c0, c1=c1, first=n == 0):
                    prod = get(s)[:, c0:c1] @ get(v)
                    return [(o, None, prod if first else get(o) + prod)]
                last = p.gemm(f"PV h{h} r{r0 + a} c{c0}", e - a, c1 - c0, d, reads=(s, v) if n == 0 else (s, v, o),
                              writes=(o,), fn=fn, new=[(o, (e - a, d))] if n == 0 else ())
                kv.done(v)
            p.free(s)
            pending.append((f"h{h} r{r0 + a}", o, sums, (h, slice(r0 + a, r0 + e)), rows))
            if serial:
                flush()
        return last

    def end(b):
        if b + 1 == len(blocks) or blocks[b + 1][0] != blocks[b][0]:
            kv.end_head(blocks[b][0])

    if overlap:                       # MAS: QK^T of the next block is issued before this block's P.V
        qk(0)
        for b in range(len(blocks)):
            if b + 1 < len(blocks):
                qk(b + 1)
            softmax_pv(b)
            end(b)
    else:                             # FLAT (serial): a block's QK^T waits for the previous block's P.V;
        last = None                   # MAS without lookahead: only its chunks overlap, within a block
        for b in range(len(blocks)):
            qk(b, after=last if serial else None)
            last = softmax_pv(b)
            end(b)
    flush()


def _flash(p: Program, wl: Attention, prm: dict, kv: _KV) -> None:
    """Per key tile j: QK^T (MAC), the online softmax (VEC: running max and sum, and the factor that rescales
    the earlier output, kept per tile), P.V (MAC), the output update o = o * factor + P.V (VEC). With
    `lookahead` the two units pipeline: the MAC unit computes QK^T of tile j+1 and then P.V of tile j while the
    vector unit does the softmax of tile j+1 and then the update of tile j. Every tile a row block needs is
    allocated by its QK^T (allocations are granted in program order: one made by a vector operation would hold
    the matrix unit back)."""
    br, bc, la = prm["Br"], prm["Bc"], prm.get("lookahead", 0)
    d, scale = wl.head_dim, np.float32(1 / math.sqrt(wl.head_dim))
    cols = _ranges(wl.seq_kv, bc)
    for h in range(wl.heads):
        for r0, r1 in _ranges(wl.seq_q, br):
            m = r1 - r0
            q = p.new_slot(f"Q{h}.{r0}")
            p.load(f"load Q h{h} [{r0}:{r1}]", q, "Q", (h, slice(r0, r1)), (m, d))
            o, st = p.new_slot(f"O{h}.{r0}"), p.new_slot(f"stats{h}.{r0}")
            tiles = {}

            def qk(j):
                c0, c1 = cols[j]
                k = kv.get("K", h, c0, c1)
                s, f = p.new_slot(f"S{h}.{r0}.{c0}"), p.new_slot(f"factor{h}.{r0}.{c0}")
                p.gemm(f"QK h{h} r{r0} c{c0}", m, d, c1 - c0, reads=(q, k), writes=(s,),
                       new=[(s, (m, c1 - c0)), (f, (m, 1))] + ([(st, (m, 2)), (o, (m, d))] if j == 0 else []),
                       fn=lambda get, s=s, k=k, q=q: [(s, None, get(q) @ get(k).T)])
                kv.done(k)
                tiles[j] = (s, f)

            def softmax(j):
                s, f = tiles[j]
                n = m * (cols[j][1] - cols[j][0])

                def online(get, s=s, f=f, st=st, m=m, first=j == 0):
                    x = get(s) * scale
                    m_old = np.full(m, -np.inf, np.float32) if first else get(st)[:, 0]
                    l_old = np.zeros(m, np.float32) if first else get(st)[:, 1]
                    m_new = np.maximum(m_old, x.max(1))
                    pr = np.exp(x - m_new[:, None])
                    corr = np.exp(m_old - m_new)
                    return [(s, None, pr), (st, None, np.stack([m_new, l_old * corr + pr.sum(1)], 1)),
                            (f, None, corr[:, None])]
                p.vec(f"online softmax h{h} r{r0} c{cols[j][0]}", {"mul": n + m, "max": n + m, "add": 2 * n + 2 * m,
                                                                   "exp": n + m}, n + (2 * m if j else 0), n + 3 * m,
                      reads=(s,) if j == 0 else (s, st), writes=(s, st, f), fn=online)

            def pv(j):
                s, f = tiles[j]
                c0, c1 = cols[j]
                v = kv.get("V", h, c0, c1)
                t = p.new_slot(f"T{h}.{r0}.{c0}")
                p.gemm(f"PV h{h} r{r0} c{c0}", m, c1 - c0, d, reads=(s, v), writes=(t,), new=[(t, (m, d))],
                       fn=lambda get, s=s, v=v, t=t: [(t, None, get(s) @ get(v))])
                kv.done(v)
                p.free(s)
                tiles[j] = (t, f)

            def update(j):
                t, f = tiles.pop(j)
                p.vec(f"rescale O h{h} r{r0} c{cols[j][0]}", {"mul": m * d, "add": m * d},
                      m * d * (1 if j == 0 else 2) + m, m * d, reads=(t,) if j == 0 else (t, f, o), writes=(o,),
                      fn=lambda get, t=t, f=f, o=o, first=j == 0: [(o, None, get(t) if first else get(o) * get(f) + get(t))])
                p.free(t, f)

            qk(0)
            softmax(0)
            for j in range(len(cols)):
                nxt = j + 1 < len(cols)
                if la and nxt:
                    qk(j + 1)
                pv(j)
                if la and nxt:
                    softmax(j + 1)
                update(j)
                if not la and nxt:
                    qk(j + 1)
                    softmax(j + 1)
            p.free(q)
            p.vec(f"normalise O h{h} r{r0}", {"div": m, "mul": m * d}, m * d + m, m * d, reads=(o, st), writes=(o,),
                  fn=lambda get, o=o, st=st: [(o, None, get(o) / get(st)[:, 1:2])])
            p.free(st)
            p.store(f"store O h{h} r{r0}", o, "O", (h, slice(r0, r1)))
            p.free(o)
        kv.end_head(h)


def _layerwise(p: Program, wl: Attention, prm: dict, kv: _KV) -> None:
    br, bc = prm["Br"], prm["Bc"]
    d, nk, scale = wl.head_dim, wl.seq_kv, 1 / math.sqrt(wl.head_dim)
    rows, cols = _ranges(wl.seq_q, br), _ranges(nk, bc)
    for h in range(wl.heads):                       # layer 1: S = Q K^T
        for r0, r1 in rows:
            q = p.new_slot(f"Q{h}.{r0}")
            p.load(f"load Q h{h} [{r0}:{r1}]", q, "Q", (h, slice(r0, r1)), (r1 - r0, d))
            for c0, c1 in cols:
                k = kv.get("K", h, c0, c1)
                s = p.new_slot(f"S{h}.{r0}.{c0}")
                p.gemm(f"QK h{h} r{r0} c{c0}", r1 - r0, d, c1 - c0, reads=(q, k), writes=(s,),
                       new=[(s, (r1 - r0, c1 - c0))], fn=lambda get, q=q, k=k, s=s: [(s, None, get(q) @ get(k).T)])
                kv.done(k)
                p.store(f"store S h{h} r{r0} c{c0}", s, "S", (h, slice(r0, r1), slice(c0, c1)))
                p.free(s)
            p.free(q)
        kv.end_head(h)
    p.barrier()
    for h in range(wl.heads):                       # layer 2: P = softmax(S / sqrt(d)), whole rows
        for r0, r1 in rows:
            s = p.new_slot(f"S{h}.{r0}")
            p.load(f"load S h{h} r{r0}", s, "S", (h, slice(r0, r1)), (r1 - r0, nk))
            p.vec(f"softmax h{h} r{r0}", _softmax_ops(r1 - r0, nk), (r1 - r0) * nk, (r1 - r0) * nk, reads=(s,),
                  writes=(s,), fn=_softmax(s, scale))
            p.store(f"store P h{h} r{r0}", s, "P", (h, slice(r0, r1)))
            p.free(s)
    p.barrier()
    for h in range(wl.heads):                       # layer 3: O = P V
        for r0, r1 in rows:
            o = p.new_slot(f"O{h}.{r0}")
            for n, (c0, c1) in enumerate(cols):
                pt = p.new_slot(f"P{h}.{r0}.{c0}")
                p.load(f"load P h{h} r{r0} c{c0}", pt, "P", (h, slice(r0, r1), slice(c0, c1)), (r1 - r0, c1 - c0))
                v = kv.get("V", h, c0, c1)

                def fn(get, pt=pt, v=v, o=o, first=n == 0):
                    prod = get(pt) @ get(v)
                    return [(o, None, prod if first else get(o) + prod)]
                p.gemm(f"PV h{h} r{r0} c{c0}", r1 - r0, c1 - c0, d, reads=(pt, v) if n == 0 else (pt, v, o),
                       writes=(o,), fn=fn, new=[(o, (r1 - r0, d))] if n == 0 else ())
                kv.done(v)
                p.free(pt)
            p.store(f"store O h{h} r{r0}", o, "O", (h, slice(r0, r1)))
            p.free(o)
        kv.end_head(h)


def dram_tensors(wl: Attention, schedule: str) -> dict:
    """DRAM tensors a schedule touches: name -> shape."""
    t = {"Q": (wl.heads, wl.seq_q, wl.head_dim), "K": (wl.heads, wl.seq_kv, wl.head_dim),
         "V": (wl.heads, wl.seq_kv, wl.head_dim), "O": (wl.heads, wl.seq_q, wl.head_dim)}
    if schedule == "layerwise":
        t["S"] = t["P"] = (wl.heads, wl.seq_q, wl.seq_kv)
    return t


def build(schedule: str, wl: Attention, hw: Hardware, prm: dict) -> Program:
    """The tile program of `schedule` with tiling `prm`; raises `Infeasible` when its tiles do not fit."""
    if schedule not in SCHEDULES:
        raise ModelError(f"unknown schedule '{schedule}'; choose from: {', '.join(SCHEDULES)}")
    policy = prm.get("kv", "overwrite" if schedule == "mas" else "stream")

    def emit(p, kv):
        if schedule == "layerwise":
            _layerwise(p, wl, prm, kv)
        elif schedule == "flash":
            _flash(p, wl, prm, kv)
        else:
            _row_fused(p, wl, prm, kv, overlap=schedule == "mas" and prm.get("lookahead", 1),
                       serial=schedule == "flat")

    sequence = None
    if policy == "overwrite":                        # first pass: the order K/V tiles are used in
        rec = _KV(Program(hw, capacity=math.inf), wl, "record")
        emit(rec.p, rec)
        sequence = rec.sequence
    p = Program(hw)
    kv = _KV(p, wl, policy, sequence, prm.get("keep", 1.0) * hw.buffer.capacity_bytes)
    emit(p, kv)
    if kv.cache is not None:
        p.tile_cache_stats = {"hits": kv.cache.hits, "misses": kv.cache.misses, "evictions": kv.cache.evictions}
    return p

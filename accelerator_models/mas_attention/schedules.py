"""The attention schedules, each a builder of a tile program for one workload, hardware and tiling.

- `layerwise`: QK^T, softmax and P.V as three layers through DRAM (a barrier between layers).
- `flat`: FLAT — fused at row granularity: a block of Br query rows computes its full Br x N score rows on
  chip, softmax, then P.V; the MAC and VEC stages of a block run one after the other, as in its paper. FLAT is
  parametric: K and V `resident` for a head or re-streamed (`stream`) for every row block, and the DMA
  `prefetch` (loads run ahead of compute as far as the buffer allows), `block` (no prefetch across row blocks:
  a block's loads wait until the block before has finished) or `serial` (nothing overlaps: every operation
  waits for the one before). `flat` is our strongest FLAT (K/V policy searched, DMA prefetching);
  `flat-paper` the paper-style one (K/V re-streamed per row block, no prefetch); every variant is a schedule
  of its own, `flat-<kv>-<dma>` (e.g. `flat-resident-serial`), searched with the same search.
- `flash`: FlashAttention-2 — Br x Bc score tiles with the online softmax (running max and sum, the output
  rescaled per key tile); optionally the next tile's QK^T is issued before this tile's P.V (lookahead).
- `mas-paper`: MAS-Attention as in its paper — row-fused like FLAT, but two streams: the MAC unit computes
  QK^T of block i+1 and P.V of block i while the VEC unit computes the softmax of block i (`lookahead`;
  without it, when two score blocks do not fit, only the chunks of one block overlap); an inner tier splits a
  block into `chunks` row chunks so P.V of a chunk starts when its softmax is done; and the proactive overwrite
  policy keeps K/V tiles resident within a budget (`keep`, a fraction of the buffer: the rest stays free for
  prefetching; 0 keeps only the tile in use, i.e. streams K and V like the baselines can) and, when the next
  tile will not fit, overwrites the dead ones or the one needed farthest in the future (clean tiles: reloaded,
  never written back), visiting the key tiles in serpentine order so the tiles kept are the first needed.
- `mas`: MAS with our extensions (not in the paper), each a search option: a key-split tier (`tier: keys`):
  the same two streams over Br x Bc tiles — MAC: QK^T of tile j+1, then P.V of tile j accumulated into the
  output; VEC: the online softmax of tile j+1 and the rescaling of the output by its factor — with the
  overwrite policy and serpentine key order on K/V tiles (the K/V re-reads the FlashAttention-2 schedule pays
  are what it attacks); `fold_scale`: 1/sqrt(d) folded ahead of time into the weights of the Q projection,
  so Q arrives scaled and no score is multiplied (the usual deployment step; the numerical check scales Q as
  that projection would, at no cost); `rowsum: mac`: the row sums of the probabilities computed by the MAC unit as one more
  output column of P.V (V tiles land beside a column of ones) instead of on the VEC unit. With
  `tier: rows` and the options off it is `mas-paper`.
The baselines keep K and V either resident for a head or stream them per use (`kv`), whichever the search
finds faster; only MAS gets the overwrite policy. FLAT and MAS normalise the output rows after P.V instead
of the probabilities before it (as FlashAttention-2 does: a division per output, Br x d, instead of per
score, Br x N); layer-wise has a standalone softmax layer that writes normalised P.

The units' local buffers (`Hardware.vec.local`, `Hardware.mac.local`): a row-wise softmax over whole score rows
(layer-wise, FLAT, MAS's row tier) is issued in pieces of rows that fit the vector unit's local buffer; a key
tile's online softmax holds its tile, which must fit (the search skips tilings that do not)."""
from __future__ import annotations

import math

import numpy as np

from accelerator_models.common.errors import Infeasible, ModelError
from accelerator_models.common.hardware import Hardware
from accelerator_models.common.program import Program, TileCache
from accelerator_models.mas_attention.workloads import Attention

SCHEDULES = ("layerwise", "flat", "flat-paper", "flash", "mas-paper", "mas")
KV_POLICIES = ("resident", "stream")
DMA_MODES = ("prefetch", "block", "serial")
PAPER_FLAT = {"kv": "stream", "dma": "block"}
PAPER_MAS = {"tier": "rows", "fold_scale": 0, "rowsum": "vec"}


def flat_variants() -> list:
    """Every FLAT variant's name, `flat-<kv>-<dma>`."""
    return [f"flat-{kv}-{dma}" for kv in KV_POLICIES for dma in DMA_MODES]


def fixed_params(schedule: str) -> dict:
    """What a schedule's name fixes of its parameters (the rest is searched)."""
    if schedule == "flat":
        return {"dma": "prefetch"}
    if schedule == "flat-paper":
        return dict(PAPER_FLAT)
    if schedule == "mas-paper":
        return dict(PAPER_MAS)
    if schedule in flat_variants():
        _, kv, dma = schedule.split("-")
        return {"kv": kv, "dma": dma}
    if schedule in SCHEDULES:
        return {}
    raise ModelError(f"unknown schedule '{schedule}'; choose from: {', '.join(SCHEDULES)}, or a FLAT variant "
                     f"flat-<kv>-<dma> (kv: {'|'.join(KV_POLICIES)}; dma: {'|'.join(DMA_MODES)})")


def canonical(prm: dict) -> dict:
    """A tiling with the parameters its builder ignores normalised (MAS's key-split tier has no row chunks), so
    the search does not evaluate one program twice."""
    if prm.get("tier") == "keys" and "chunks" in prm:
        return {**prm, "chunks": 1}
    return prm


def as_mas(schedule: str, prm: dict) -> dict | None:
    """A tiling of `mas-paper` or `flash` as the same dataflow in `mas`'s space (the row tier with the options
    off; the key-split tier with K/V kept whole for a resident flash, none for a streaming one), None for other
    schedules: the search of `mas` starts from these."""
    base = {"chunks": 1, "serpentine": 1, "fold_scale": 0, "rowsum": "vec"}
    if schedule == "mas-paper":
        return {**base, **prm, **PAPER_MAS}
    if schedule == "flash":
        return {**base, "tier": "keys", "Br": prm["Br"], "Bc": prm["Bc"], "lookahead": prm["lookahead"],
                "keep": 1.0 if prm["kv"] == "resident" else 0.0}
    return None


def family(schedule: str) -> str:
    """The builder a schedule uses: layerwise, flat, flash or mas."""
    fixed_params(schedule)
    return schedule.split("-")[0]


def _ranges(n: int, b: int) -> list:
    return [(s, min(s + b, n)) for s in range(0, n, b)]


def _pieces(hw: Hardware, rows: int, cols: int) -> list:
    """Row ranges of a rows x cols row-wise operation, each as many rows as fit the vector unit's local buffer."""
    if not hw.vec_fits(cols):
        raise Infeasible(f"one score row of {cols} elements does not fit the vector unit's {hw.vec.local.bytes:,}-byte "
                         "local buffer")
    per = rows if hw.vec.local is None else max(1, min(rows, hw.vec.local.bytes // (cols * hw.word_bytes)))
    return _ranges(rows, per)


class _KV:
    """How K and V tiles are held: `resident` (loaded once per head), `stream` (loaded for every use and freed
    after it), `overwrite` (MAS: `TileCache`), `record` (a first pass that records the access order). With
    `ones`, V tiles land beside a column of ones (the row sums on the MAC unit)."""

    def __init__(self, p: Program, wl: Attention, policy: str, sequence=None, budget: float = math.inf,
                 ones: bool = False):
        self.p, self.wl, self.policy, self.ones = p, wl, policy, ones
        self.slots, self.sequence = {}, []
        self.cache = TileCache(p, sequence, budget) if policy == "overwrite" else None

    def get(self, tensor: str, h: int, c0: int, c1: int) -> str:
        key = (tensor, h, c0)
        ones = self.ones and tensor == "V"

        def load(slot):
            self.p.load(f"load {tensor} h{h} [{c0}:{c1}]", slot, tensor, (h, slice(c0, c1)), (c1 - c0, self.wl.head_dim),
                        ones_column=ones)

        if self.policy == "overwrite":
            return self.cache.access(key, self.p.slot_bytes((c1 - c0, self.wl.head_dim + ones)), load)
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


def _softmax(s: str, scale: float, rows: slice | None):
    """The softmax layer of the layer-wise schedule: scaled scores in, normalised probabilities out (`rows` of
    s, None: all)."""
    def fn(get):
        x = get(s)[slice(None) if rows is None else rows] * np.float32(scale)
        e = np.exp(x - x.max(1, keepdims=True))
        return [(s, rows, e / e.sum(1, keepdims=True))]
    return fn


def _softmax_ops(rows: int, cols: int) -> dict:
    n = rows * cols
    return {"mul": 2 * n, "max": n, "add": 2 * n, "exp": n, "div": rows}


def _exp_rows(s: str, l: str | None, scale: float | None, rows: slice | None):
    """Unnormalised probabilities exp(scale * s - rowmax) in place (rows of s), and their row sums into l (unless
    the MAC unit sums them: l None); scale None: already folded into Q."""
    def fn(get):
        x = get(s)[slice(None) if rows is None else rows]
        if scale is not None:
            x = x * np.float32(scale)
        e = np.exp(x - x.max(1, keepdims=True))
        return [(s, rows, e)] + ([(l, rows, e.sum(1, keepdims=True))] if l else [])
    return fn


def _load_q(p: Program, h: int, r0: int, r1: int, d: int, prescaled: float | None) -> str:
    """Load a Q block; `prescaled`: the softmax scale folded into the Q projection (Q arrives scaled)."""
    q = p.new_slot(f"Q{h}.{r0}")
    p.load(f"load Q h{h} [{r0}:{r1}]", q, "Q", (h, slice(r0, r1)), (r1 - r0, d), prescaled=prescaled)
    return q


def _normalise_store(p: Program, name: str, o: str, sums: str | None, index, rows: int, d: int) -> None:
    """Divide the output rows by their sums (a column of `sums`, or O's own last column when the MAC unit
    summed), store them and free the slots."""
    if sums is None:
        def fn(get):
            out = get(o).copy()
            out[:, :d] /= out[:, d:]
            return [(o, None, out)]
        p.vec(f"normalise O {name}", {"div": rows, "mul": rows * d}, rows * (d + 1), rows * d, reads=(o,), writes=(o,),
              fn=fn)
    else:
        p.vec(f"normalise O {name}", {"div": rows, "mul": rows * d}, rows * d + rows, rows * d, reads=(o, sums),
              writes=(o,), fn=lambda get: [(o, None, get(o) / get(sums)[:, -1:])])
        p.free(sums)
    p.store(f"store O {name}", o, "O", index, part=None if sums is not None else (slice(None), slice(0, d)))
    p.free(o)


def _options(wl: Attention, prm: dict) -> tuple:
    """MAS's options: the scale applied to the scores (None: folded into Q), the scale for Q, whether the MAC
    unit sums the rows."""
    scale = 1 / math.sqrt(wl.head_dim)
    fold = bool(prm.get("fold_scale", 0))
    return (None if fold else scale), (scale if fold else None), prm.get("rowsum", "vec") == "mac"


def _row_fused(p: Program, wl: Attention, prm: dict, kv: _KV, overlap: bool, serial: bool) -> None:
    br, bc = prm["Br"], prm["Bc"]
    bv = math.ceil(br / prm.get("chunks", 1))
    d, nk = wl.head_dim, wl.seq_kv
    score_scale, q_scale, mac_sums = _options(wl, prm)
    dv = d + mac_sums
    blocks = [(h, r0, r1, i) for h in range(wl.heads) for i, (r0, r1) in enumerate(_ranges(wl.seq_q, br))]
    cols = _ranges(nk, bc)
    scores = {}

    def order(i):
        return cols[::-1] if prm.get("serpentine") and i % 2 else cols

    def qk(b, after=None):
        h, r0, r1, i = blocks[b]
        if b and prm.get("dma") == "block":         # no prefetch across row blocks
            p.barrier()
        q = _load_q(p, h, r0, r1, d, q_scale)
        chunks = _ranges(r1 - r0, bv)
        s = [p.new_slot(f"S{h}.{r0 + a}") for a, _ in chunks]
        # The row sums of each chunk (written by its softmax) are allocated with its scores: an allocation by the
        # softmax would queue behind the next block's scores, since allocations are granted in program order.
        sums = [None if mac_sums else p.new_slot(f"l{h}.{r0 + a}") for a, _ in chunks]
        for n, (c0, c1) in enumerate(order(i)):
            k = kv.get("K", h, c0, c1)

            def fn(get, q=q, k=k, c0=c0, c1=c1):
                prod = get(q) @ get(k).T
                return [(sl, (slice(None), slice(c0, c1)), prod[a:e]) for sl, (a, e) in zip(s, chunks)]
            new = [(s_l, (e - a, nk)) for (a, e), s_l in zip(chunks, s)]
            new += [(l_l, (e - a, 1)) for (a, e), l_l in zip(chunks, sums) if l_l]
            p.gemm(f"QK h{h} r{r0} c{c0}", r1 - r0, d, c1 - c0, reads=(q, k), writes=tuple(s), fn=fn, partial=True,
                   new=new if n == 0 else (), extra_deps=(after,) if after is not None and n == 0 else ())
            kv.done(k)
        p.free(q)
        scores[b] = (s, sums, chunks)

    pending = []          # output chunks whose normalisation and store are not issued yet

    def flush() -> None:
        """Normalise and store the pending output chunks. The vector unit takes its work in order, so with two
        streams a chunk's normalisation is issued after the next chunk's softmax (its P.V runs meanwhile)."""
        while pending:
            _normalise_store(p, *pending.pop(0), d)

    def softmax_pv(b) -> int:
        h, r0, r1, i = blocks[b]
        s_slots, sum_slots, chunks = scores.pop(b)
        last = None
        for s, sums, (a, e) in zip(s_slots, sum_slots, chunks):
            rows = e - a
            pieces = _pieces(p.hw, rows, nk)
            for pa, pe in pieces:
                n = (pe - pa) * nk
                ops = {"max": n, "add": n if mac_sums else 2 * n, "exp": n, **({"mul": n} if score_scale else {})}
                whole = len(pieces) == 1
                p.vec(f"softmax h{h} r{r0 + a + pa}", ops, n, n + (0 if mac_sums else pe - pa), reads=(s,),
                      writes=(s,) if mac_sums else (s, sums), partial=not whole, resident=n,
                      fn=_exp_rows(s, sums, score_scale, None if whole else slice(pa, pe)))
            flush()
            o = p.new_slot(f"O{h}.{r0 + a}")
            for n, (c0, c1) in enumerate(order(i)):
                v = kv.get("V", h, c0, c1)

                def fn(get, s=s, v=v, o=o, c0=c0, c1=c1, first=n == 0):
                    prod = get(s)[:, c0:c1] @ get(v)
                    return [(o, None, prod if first else get(o) + prod)]
                last = p.gemm(f"PV h{h} r{r0 + a} c{c0}", e - a, c1 - c0, dv, reads=(s, v) if n == 0 else (s, v, o),
                              writes=(o,), fn=fn, new=[(o, (e - a, dv))] if n == 0 else ())
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


def _key_split(p: Program, wl: Attention, prm: dict, kv: _KV) -> None:
    """MAS's key-split tier (our extension): over the key tiles of every row block in turn (serpentine key order
    from one row block to the next), the MAC unit computes QK^T of the next tile, then P.V of this one,
    accumulated into the output; the vector unit computes the online softmax of the next tile (running max, and
    the running sum unless the MAC unit sums) and rescales the output by its factor exp(m_old - m_new) once P.V
    of this tile has landed — the output is multiplied, never re-added, on the vector unit. The pipeline runs
    across row blocks and heads (the next block's first QK^T and softmax overlap this block's last P.V and
    normalisation). The tiles of a key tile are allocated by its QK^T, the output rows by the block's first P.V
    (allocations are granted in program order, and both are on the MAC unit: the next block's first QK^T may
    run while this block's output is still being normalised and stored)."""
    br, bc, la = prm["Br"], prm["Bc"], prm.get("lookahead", 1)
    d = wl.head_dim
    score_scale, q_scale, mac_sums = _options(wl, prm)
    dv = d + mac_sums
    cols = _ranges(wl.seq_kv, bc)
    blocks = [(h, r0, r1, i) for h in range(wl.heads) for i, (r0, r1) in enumerate(_ranges(wl.seq_q, br))]
    steps = [(b, j) for b in range(len(blocks)) for j in range(len(cols))]
    state, tiles, early_q = {}, {}, {}     # block -> (q, o, stats, key order); step -> (scores, factor); block -> q
    # The next block's Q is loaded this many steps before the block starts (when the buffer has room), so its
    # transfer overlaps the tiles before instead of stalling the first QK^T: its DMA time over a tile's MAC time.
    q_bytes = p.slot_bytes((min(br, wl.seq_q), d))
    step = p.hw.gemm_cycles(min(br, wl.seq_q), d, cols[0][1]) + p.hw.gemm_cycles(min(br, wl.seq_q), cols[0][1], dv)
    lead = math.ceil(p.hw.dma_cycles(q_bytes) / step) + 1
    tile_bytes = p.slot_bytes((min(br, wl.seq_q) + 2 * dv, cols[0][1]))      # a step's scores, K and V tiles

    def prefetch_q(t):
        ahead = t + lead
        if ahead < len(steps) and steps[ahead][1] == 0 and steps[ahead][0] not in early_q and \
                p.live_bytes + q_bytes + 2 * tile_bytes <= p.hw.buffer.capacity_bytes:
            h, r0, r1, _ = blocks[steps[ahead][0]]
            early_q[steps[ahead][0]] = _load_q(p, h, r0, r1, d, q_scale)

    def at(t):
        """Step t: its row block, key tile, head, first row, rows, and (once begun) the block's slots."""
        b, j = steps[t]
        h, r0, r1, _ = blocks[b]
        return b, j, h, r0, r1 - r0, state.get(b)

    def qk(t):
        b, j, h, r0, m, _ = at(t)
        r1, i = blocks[b][2:]
        if j == 0:
            order = cols[::-1] if prm.get("serpentine") and i % 2 else cols
            q = early_q.pop(b) if b in early_q else _load_q(p, h, r0, r1, d, q_scale)
            state[b] = (q, p.new_slot(f"O{h}.{r0}"), p.new_slot(f"stats{h}.{r0}"), order)
        q, o, st, order = state[b]
        c0, c1 = order[j]
        k = kv.get("K", h, c0, c1)
        s, f = p.new_slot(f"S{h}.{r0}.{c0}"), (p.new_slot(f"factor{h}.{r0}.{c0}") if j else None)
        p.gemm(f"QK h{h} r{r0} c{c0}", m, d, c1 - c0, reads=(q, k), writes=(s,),
               new=[(s, (m, c1 - c0))] + ([(f, (m, 1))] if f else [])
               + ([(st, (m, 1 if mac_sums else 2))] if j == 0 else []),
               fn=lambda get, s=s, k=k, q=q: [(s, None, get(q) @ get(k).T)])
        kv.done(k)
        if j == len(cols) - 1:
            p.free(q)
        tiles[t] = (s, f)

    def softmax(t):
        b, j, h, r0, m, (_, _, st, order) = at(t)
        s, f = tiles[t]
        n = m * (order[j][1] - order[j][0])

        def online(get, s=s, f=f, st=st, m=m, first=j == 0):
            x = get(s) if score_scale is None else get(s) * np.float32(score_scale)
            m_old = np.full(m, -np.inf, np.float32) if first else get(st)[:, 0]
            m_new = np.maximum(m_old, x.max(1))
            pr = np.exp(x - m_new[:, None])
            out = [(s, None, pr)]
            if not first:
                corr = np.exp(m_old - m_new)
                out.append((f, None, corr[:, None]))
            if mac_sums:
                out.append((st, None, m_new[:, None]))
            else:
                l_old = np.zeros(m, np.float32) if first else get(st)[:, 1] * corr
                out.append((st, None, np.stack([m_new, l_old + pr.sum(1)], 1)))
            return out
        extra = 0 if j == 0 else m           # the running max against the old one, and the factor
        ops = {"max": n + extra, "add": n + extra, "exp": n + extra}
        if score_scale is not None:
            ops["mul"] = n
        if not mac_sums:                     # the row sums, and the old sum rescaled
            ops["add"] += n + extra
            ops["mul"] = ops.get("mul", 0) + extra
        p.vec(f"online softmax h{h} r{r0} c{order[j][0]}", ops, n + (0 if j == 0 else 2 * m),
              n + 2 * m + (m if j else 0), reads=(s,) if j == 0 else (s, st),
              writes=(s, st) + ((f,) if f else ()), fn=online, resident=n)

    def rescale(t):
        b, j, h, r0, m, (_, o, _, order) = at(t)
        _, f = tiles[t]
        p.vec(f"rescale O h{h} r{r0} c{order[j][0]}", {"mul": m * dv}, m * dv + m, m * dv, reads=(o, f),
              writes=(o,), fn=lambda get, f=f, o=o: [(o, None, get(o) * get(f))])
        p.free(f)

    def pv(t):
        b, j, h, r0, m, (_, o, _, order) = at(t)
        s, _ = tiles.pop(t)
        c0, c1 = order[j]
        v = kv.get("V", h, c0, c1)
        p.gemm(f"PV h{h} r{r0} c{c0}", m, c1 - c0, dv, reads=(s, v) if j == 0 else (s, v, o), writes=(o,),
               new=[(o, (m, dv))] if j == 0 else (), fn=lambda get, s=s, v=v, o=o, first=j == 0: [(o, None, get(s) @ get(v) if first
                                                            else get(o) + get(s) @ get(v))])
        kv.done(v)
        p.free(s)

    def finish(b):
        h, r0, r1, _ = blocks[b]
        _, o, st, _ = state.pop(b)
        _normalise_store(p, f"h{h} r{r0}", o, None if mac_sums else st, (h, slice(r0, r1)), r1 - r0, d)
        if mac_sums:
            p.free(st)
        if b + 1 == len(blocks) or blocks[b + 1][0] != h:
            kv.end_head(h)

    qk(0)
    softmax(0)
    for t in range(len(steps)):
        nxt = t + 1 < len(steps)
        prefetch_q(t)
        if la and nxt:
            qk(t + 1)
        pv(t)
        if nxt:
            if not la:
                qk(t + 1)
            softmax(t + 1)
        if steps[t][1] == len(cols) - 1:     # after the next tile's softmax: the VEC unit need not wait for P.V
            finish(steps[t][0])
        if nxt and steps[t + 1][1]:
            rescale(t + 1)


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
                      reads=(s,) if j == 0 else (s, st), writes=(s, st, f), fn=online, resident=n)

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
            _normalise_store(p, f"h{h} r{r0}", o, st, (h, slice(r0, r1)), m, d)
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
            pieces = _pieces(p.hw, r1 - r0, nk)
            for a, e in pieces:
                whole = len(pieces) == 1
                p.vec(f"softmax h{h} r{r0 + a}", _softmax_ops(e - a, nk), (e - a) * nk, (e - a) * nk, reads=(s,),
                      writes=(s,), partial=not whole, resident=(e - a) * nk,
                      fn=_softmax(s, scale, None if whole else slice(a, e)))
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
    if family(schedule) == "layerwise":
        t["S"] = t["P"] = (wl.heads, wl.seq_q, wl.seq_kv)
    return t


def build(schedule: str, wl: Attention, hw: Hardware, prm: dict) -> Program:
    """The tile program of `schedule` with tiling `prm` (what the schedule's name fixes is added); raises
    `Infeasible` when its tiles do not fit."""
    prm = {**prm, **fixed_params(schedule)}
    kind = family(schedule)
    mas = kind == "mas"
    policy = prm.get("kv", "overwrite" if mas else "stream")
    ones = mas and prm.get("rowsum", "vec") == "mac"

    def emit(p, kv):
        if kind == "layerwise":
            _layerwise(p, wl, prm, kv)
        elif kind == "flash":
            _flash(p, wl, prm, kv)
        elif mas and prm.get("tier", "rows") == "keys":
            _key_split(p, wl, prm, kv)
        else:
            _row_fused(p, wl, prm, kv, overlap=mas and prm.get("lookahead", 1), serial=kind == "flat")

    sequence = None
    if policy == "overwrite":                        # first pass: the order K/V tiles are used in
        rec = _KV(Program(hw, capacity=math.inf), wl, "record", ones=ones)
        emit(rec.p, rec)
        sequence = rec.sequence
    p = Program(hw, serial=prm.get("dma") == "serial")
    kv = _KV(p, wl, policy, sequence, prm.get("keep", 1.0) * hw.buffer.capacity_bytes, ones=ones)
    emit(p, kv)
    if kv.cache is not None:
        p.tile_cache_stats = {"hits": kv.cache.hits, "misses": kv.cache.misses, "evictions": kv.cache.evictions}
    return p

"""MEADOW's dataflows of one int8 transformer layer as tile programs on the common engine.

Layers, in order (each a loop nest of tiles; the engine overlaps whatever the data dependencies and the buffer
allow — no barriers between layers, so the next layer's weights stream in while this one computes):

    gemm:  ln1 -> qkv -> scores -> softmax -> pv -> out -> ln2 -> fc1 -> fc2
    tphs:  ln1 -> kv  -> chain                    -> out -> ln2 -> fc1 -> fc2

- GEMM path (every layer of `gemm`; kv, out, ln2, fc1, fc2 of `tphs`): load -> compute -> store per layer.
  A projection's output tiles are spread over both PE groups (the columns of a tile split between the
  parallel-MAC and the broadcast-MAC PEs in proportion to what each computes fastest), the bias,
  requantization and activation fused in the PE output stage, the residual added on the vector unit. Tiling
  (rows tm, columns tn, inner tk) and loop order are searched per layer: `x_outer` keeps a block of input rows
  on chip while the weight tiles stream past; `w_outer` keeps a block of weight columns on chip while the
  input tiles stream past. In `gemm` Q, S = QK^T, P = softmax(S) and O = PV each make the off-chip round trip.
- TPHS chain (`tphs`): for each head in turn the normalised tokens h are spread over the PEs (token-parallel,
  Br rows at a time), the parallel-MAC PEs compute Q_h = h Wq_h and S = Q_h K_h^T, the pipelined softmax unit P,
  the broadcast-MAC PEs O_h = P V_h; Q, S and P never leave the chip, only O_h is stored (the output projection
  is a GEMM layer). K and V come from the kv layer (and, in decode, the KV cache). Heads pipeline: the
  parallel-MAC PEs start the next head while the softmax unit and the broadcast-MAC PEs finish this one.
- Decode: one new token; the kv layer appends its K and V rows to the cache in DRAM, attention reads all of
  the cache; with one token the chain's products spread the head's outputs or keys over the PEs instead.
- Packing: every weight tile comes from DRAM as its packed stream and the unpack unit rebuilds it; each
  matrix's unique chunks are loaded into the unpack unit's table before its first tile.
- `weak` (the paper-style GEMM baseline): the same program with no overlap of data movement and compute — every
  run of consecutive DMA operations waits for the compute before it and every run of compute waits for the
  DMA before it (no double buffering, no prefetch); the PE groups of one step still work side by side.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from accelerator_models.common.errors import ModelError
from accelerator_models.common.hardware import Hardware
from accelerator_models.common.program import Infeasible, Program
from accelerator_models.meadow.models import Model
from accelerator_models.meadow.quant import activation, causal_mask, layernorm, mm, requant, softmax_rows

DATAFLOWS = ("gemm", "tphs")
PHASES = ("prefill", "decode")
LAYERS = {"gemm": ("ln1", "qkv", "scores", "softmax", "pv", "out", "ln2", "fc1", "fc2"),
          "tphs": ("ln1", "kv", "chain", "out", "ln2", "fc1", "fc2")}
ACC_BYTES = 4            # int32 partial sums


@dataclass(frozen=True)
class Workload:
    model: Model
    phase: str
    tokens: int          # tokens computed: the prompt (prefill) or 1 (decode)
    past: int            # tokens already in the KV cache (decode)

    @property
    def keys(self) -> int:
        return self.past + self.tokens

    def to_json(self) -> dict:
        return {"model": self.model.name, "phase": self.phase, "tokens": self.tokens, "past": self.past}


def workload(model: Model, phase: str, tokens: int | None = None, context: int = 128) -> Workload:
    if phase not in PHASES:
        raise ModelError(f"unknown phase '{phase}'; choose prefill or decode")
    if phase == "decode":
        if not model.decoder:
            raise ModelError(f"'{model.name}' is an encoder: it has no decode phase (use --phase prefill)")
        if context < 1:
            raise ModelError(f"the decode context (tokens in the KV cache) must be at least 1, got {context}")
        return Workload(model, phase, 1, context)
    n = model.tokens if tokens is None else tokens
    if n < 1:
        raise ModelError(f"the prompt must have at least one token, got {n}")
    return Workload(model, phase, n, 0)


def _ranges(n: int, b: int) -> list:
    return [(s, min(s + b, n)) for s in range(0, n, b)]


class Builder:
    def __init__(self, hw: Hardware, wl: Workload, layer, packed: dict | None = None, weak: bool = False):
        if not hw.pe_groups or hw.softmax is None:
            raise ModelError(f"hardware '{hw.name}' has no PE groups or softmax unit: MEADOW's dataflows need a "
                             "description like configs/meadow.yaml")
        self.hw, self.wl, self.layer, self.m = hw, wl, layer, wl.model
        self.p = Program(hw)
        self.packed = packed or {}
        self.weak = weak
        self.run_class, self.run_ops, self.prev_run = None, [], []
        self.lut_of = None
        self.shapes = dram_tensors(wl)
        self.stores, self.loads = {}, {}          # DRAM tensor -> [(region, op id)]
        self._splits = {}
        if self.packed and hw.unpack is None:
            raise ModelError(f"hardware '{hw.name}' has no unpack_unit: packed weights need one")
        for name, pk in self.packed.items():
            if pk.unique_bytes > hw.unpack.lut_bytes:
                raise Infeasible(f"the unique matrix of {name} ({pk.unique_bytes:,} bytes, {pk.n_unique:,} chunks of "
                                 f"{pk.chunk}) does not fit the unpack unit's {hw.unpack.lut_bytes:,}-byte table; use a "
                                 "smaller chunk size")

    # --- emission ----------------------------------------------------------------------------------------
    def emit(self, name, unit, cycles, **kw) -> int:
        if self.weak:
            cls = "dma" if unit in ("load", "store") else "compute"
            if cls != self.run_class:
                self.prev_run, self.run_ops, self.run_class = self.run_ops, [], cls
            kw["extra_deps"] = tuple(kw.get("extra_deps", ())) + tuple(self.prev_run)
        oid = self.p.emit(name, unit, cycles, **kw)
        if self.weak:
            self.run_ops.append(oid)
        return oid

    def region(self, tensor: str, index) -> tuple | None:
        """The box of DRAM tensor elements `index` covers: ((start, stop) per dimension); None for weights."""
        shape = self.shapes.get(tensor)
        if shape is None or index is None:
            return None
        index = tuple(index) if isinstance(index, tuple) else (index,)
        index = index + (slice(None),) * (len(shape) - len(index))
        box = []
        for i, n in zip(index, shape):
            if isinstance(i, slice):
                a, b, _ = i.indices(n)
            else:
                a, b = i, i + 1
            box.append((a, b))
        return tuple(box)

    def dram_deps(self, tensor: str, box, kind: str) -> list:
        """Operations an access of DRAM region `box` waits for: a load waits for the stores that wrote any of it,
        a store for the loads that read any of it since (DRAM dependencies element-exact, not per tensor)."""
        if box is None:
            return []
        seen = self.stores if kind == "load" else self.loads
        return [oid for b, oid in seen.get(tensor, ()) if all(a0 < b1 and a1 > b0 for (a0, a1), (b0, b1) in zip(box, b))]

    def load(self, name, tensor, index, shape, nbytes=None, fn=None, extra=()) -> str:
        """A DMA load into a new slot; `extra` = further slots (slot, shape) allocated with it, for the
        operations that follow (allocations are granted in program order)."""
        slot = self.p.new_slot(name.split()[1] if " " in name else name)
        b = math.prod(shape) if nbytes is None else nbytes
        fn = fn or (lambda get: [(slot, None, np.asarray(get(tensor)[index]).copy())])
        box = self.region(tensor, index)
        oid = self.emit(name, "load", self.hw.dma_cycles(b), writes=(slot,), new=[(slot, shape, b)] + list(extra),
                        fn=fn, dram_read=b, buffer_write=b, extra_deps=self.dram_deps(tensor, box, "load"))
        if box is not None:
            self.loads.setdefault(tensor, []).append((box, oid))
        return slot

    def store(self, name, slot, tensor, index) -> None:
        b = self.p.nbytes[slot]
        box = self.region(tensor, index)
        oid = self.emit(name, "store", self.hw.dma_cycles(b), reads=(slot,),
                        fn=lambda get: [(tensor, index, get(slot).copy())], dram_write=b, buffer_read=b,
                        extra_deps=self.dram_deps(tensor, box, "store"))
        self.stores.setdefault(tensor, []).append((box, oid))

    def pe(self, name, group, m, k, n, split, reads, writes, new, fn, out_bytes) -> int:
        g = self.hw.group(group)
        buf = self.hw.buffer
        cycles = max(g.cycles(m, k, n, split), math.ceil((m * k + k * n) / buf.read_bytes_per_cycle),
                     math.ceil(m * n * out_bytes / buf.write_bytes_per_cycle))
        return self.emit(name, group, cycles, reads=reads, writes=writes, new=new, fn=fn, macs=m * k * n,
                         buffer_read=m * k + k * n, buffer_write=m * n * out_bytes)

    def vec(self, name, ops: dict, n_in: int, n_out: int, reads, writes, new, fn) -> int:
        work = sum(v * (self.hw.vec.cycles[o] if o == "exp" else 1) for o, v in ops.items())
        return self.emit(name, "vec", self.hw.vec_cycles(ops, n_in, n_out), reads=reads, writes=writes, new=new,
                         fn=fn, vec_ops=work, buffer_read=n_in, buffer_write=n_out)

    def split(self, m: int, k: int, n: int) -> list:
        """Columns of an (m x k) @ (k x n) tile per PE group: the split (in lane multiples) that finishes first."""
        key = (m, k, n)
        if key not in self._splits:
            self._splits[key] = self._split(m, k, n)
        return self._splits[key]

    def _split(self, m: int, k: int, n: int) -> list:
        groups = self.hw.pe_groups
        if len(groups) == 1 or n <= groups[0].lanes:
            return [(groups[0].name, 0, n)]
        a, b = groups[0], groups[1]
        best = None
        for nb in range(0, n + 1, b.lanes):
            na = n - nb
            t = max(a.cycles(m, k, na) if na else 0, b.cycles(m, k, nb) if nb else 0)
            if best is None or t < best[0]:
                best = (t, na)
        na = best[1]
        return [(a.name, 0, na)] + ([(b.name, na, n)] if na < n else [])

    # --- weights -----------------------------------------------------------------------------------------
    def weight(self, wname: str, k0: int, k1: int, n0: int, n1: int) -> str:
        """A weight tile W[k0:k1, n0:n1] (in x out) on chip: loaded, or loaded packed and unpacked."""
        shape = (k1 - k0, n1 - n0)
        if wname not in self.packed:
            return self.load(f"load {wname}[{k0}:{k1},{n0}:{n1}]", wname, (slice(k0, k1), slice(n0, n1)), shape)
        pk = self.packed[wname]
        if self.lut_of != wname:            # the unpack unit's table: this matrix's unique chunks
            b = pk.unique_bytes + pk.header_bytes
            self.emit(f"load unique {wname}", "load", self.hw.dma_cycles(b), writes=("lut",), reads=(wname + ".packed",),
                      dram_read=b)
            self.lut_of = wname
        nbytes = pk.tile_bytes(n0, n1, k0, k1)
        stream = self.load(f"load packed {wname}[{k0}:{k1},{n0}:{n1}]", wname + ".packed", None, (nbytes,), nbytes,
                           fn=lambda get: [(stream, None, get(wname + ".packed").tile_stream(n0, n1, k0, k1))])
        slot = self.p.new_slot(f"{wname}.{k0}.{n0}")
        ids = (n1 - n0) * (math.ceil(k1 / pk.chunk) - k0 // pk.chunk)
        self.emit(f"unpack {wname}[{k0}:{k1},{n0}:{n1}]", "unpack", self.hw.unpack_cycles(ids), reads=(stream, "lut"),
                  writes=(slot,), new=[(slot, shape, math.prod(shape))],
                  fn=lambda get: [(slot, None, pk.unpack_tile(get(stream), n0, n1, k0, k1).T)],
                  buffer_read=nbytes, buffer_write=math.prod(shape))
        self.p.free(stream)
        return slot

    # --- layers ------------------------------------------------------------------------------------------
    def layernorm(self, lname: str, src: str, dst: str, g, b, prm: dict) -> None:
        n, hdim = self.wl.tokens, self.m.hidden
        for r0, r1 in _ranges(n, prm["tr"]):
            y = self.p.new_slot(f"{dst}{r0}")
            x = self.load(f"load {src}[{r0}:{r1}]", src, (slice(r0, r1),), (r1 - r0, hdim), extra=[(y, (r1 - r0, hdim))])
            e = (r1 - r0) * hdim
            self.vec(f"{lname} [{r0}:{r1}]", {"add": 3 * e, "mul": 3 * e, "div": r1 - r0}, e, e, reads=(x,), writes=(y,),
                     new=[], fn=lambda get, x=x, y=y: [(y, None, layernorm(get(x), g, b))])
            self.p.free(x)
            self.store(f"store {dst}[{r0}:{r1}]", y, dst, (slice(r0, r1),))
            self.p.free(y)

    def gemm(self, lname: str, src: str, mats: list, prm: dict) -> None:
        """Projections of the rows of `src` (tokens x K) by each (W name, out tensor, out row offset, bias,
        multiplier, activation, residual tensor or None) in `mats`. Software-pipelined: the loads of the next
        `prefetch` output tiles are issued before this tile's compute (double buffering with depth 1), and every
        slot a tile's compute needs is allocated by its first operation (the engine grants allocations in
        program order, so one made later would hold the next tile's prefetch back)."""
        n_rows = self.wl.tokens
        K = self.layer.w[mats[0][0]].shape[0]
        tm, tn, tk = min(prm["tm"], n_rows), prm["tn"], min(prm["tk"], K)
        depth = prm.get("prefetch", 1)
        kt = _ranges(K, tk)
        rows = _ranges(n_rows, tm)
        cols = [(mat, c) for mat in mats for c in _ranges(self.layer.w[mat[0]].shape[1], tn)]
        x_outer = prm["order"] == "x_outer"
        steps = ([(r, mat, c) for r in rows for mat, c in cols] if x_outer else
                 [(r, mat, c) for mat, c in cols for r in rows])
        block_of = (lambda st: st[0]) if x_outer else (lambda st: (st[1][0], st[2]))
        held = {}                                  # block -> its slots (X rows or W columns, kept for the block)
        loaded = {}                                # step -> (xs, ws, residual slots)

        def x_tiles(r0, r1):
            return [self.load(f"load {src}[{r0}:{r1},{k0}:{k1}]", src, (slice(r0, r1), slice(k0, k1)),
                              (r1 - r0, k1 - k0)) for k0, k1 in kt]

        def w_tiles(wname, n0, n1):
            return [self.weight(wname, k0, k1, n0, n1) for k0, k1 in kt]

        def issue(t):
            (r0, r1), mat, (n0, n1) = st = steps[t]
            b = block_of(st)
            if b not in held and x_outer:          # a new row block: its X tiles interleaved with the first W tiles,
                ws, xs = [], []                    # weights first (they depend on nothing: they may stream in while
                for (k0, k1) in kt:                # the layer before is still computing)
                    ws.append(self.weight(mat[0], k0, k1, n0, n1))
                    xs.append(self.load(f"load {src}[{r0}:{r1},{k0}:{k1}]", src, (slice(r0, r1), slice(k0, k1)),
                                        (r1 - r0, k1 - k0)))
                held[b] = xs
            elif b not in held:
                ws, xs = [], []
                for (k0, k1) in kt:
                    ws.append(self.weight(mat[0], k0, k1, n0, n1))
                    xs.append(self.load(f"load {src}[{r0}:{r1},{k0}:{k1}]", src, (slice(r0, r1), slice(k0, k1)),
                                        (r1 - r0, k1 - k0)))
                held[b] = ws
            else:
                xs, ws = (held[b], w_tiles(mat[0], n0, n1)) if x_outer else (x_tiles(r0, r1), held[b])
            parts = self.split(r1 - r0, tk, n1 - n0)
            resid = mat[6]
            rs = [self.load(f"load {resid}[{r0}:{r1},{n0 + a}:{n0 + e}]", resid, (slice(r0, r1), slice(n0 + a, n0 + e)),
                            (r1 - r0, e - a)) if resid else None for _, a, e in parts]
            loaded[t] = (xs, ws, parts, rs)

        def compute(t):
            (r0, r1), mat, (n0, n1) = st = steps[t]
            wname, out, orow, bias, mult, act, resid = mat
            xs, ws, parts, rs = loaded.pop(t)
            m = r1 - r0
            outs = []
            for group, c0, c1 in parts:
                o = self.p.new_slot(f"{out}{r0}.{n0 + c0}")
                acc = self.p.new_slot(f"acc{r0}.{n0 + c0}") if len(kt) > 1 else None
                alloc = [(o, (m, c1 - c0), m * (c1 - c0))] + ([(acc, (m, c1 - c0), m * (c1 - c0) * ACC_BYTES)] if acc else [])
                for j, (k0, k1) in enumerate(kt):
                    last = j == len(kt) - 1
                    reads = (xs[j], ws[j]) + ((acc,) if j else ())

                    def fn(get, j=j, last=last, x=xs[j], w=ws[j], acc=acc, o=o, c0=c0, c1=c1):
                        v = mm(get(x), get(w)[:, c0:c1])
                        if j:
                            v = v + get(acc).astype(np.int64)
                        if not last:
                            return [(acc, None, v)]
                        return [(o, None, activation(requant(v + bias[n0 + c0:n0 + c1], mult), act))]
                    self.pe(f"{lname} {wname} r{r0} c{n0 + c0} k{k0}", group, m, k1 - k0, c1 - c0, "any", reads,
                            (o,) if last else (acc,), alloc if j == 0 else [], fn, 1 if last else ACC_BYTES)
                if acc is not None:
                    self.p.free(acc)
                outs.append((o, c0, c1))
            for (o, c0, c1), r in zip(outs, rs):
                index = (slice(orow + r0, orow + r1), slice(n0 + c0, n0 + c1))
                if r is not None:
                    def add(get, o=o, r=r):
                        return [(o, None, np.clip(get(o).astype(np.int64) + get(r).astype(np.int64), -128, 127))]
                    self.vec(f"{lname} residual r{r0} c{n0 + c0}", {"add": m * (c1 - c0)}, 2 * m * (c1 - c0),
                             m * (c1 - c0), reads=(o, r), writes=(o,), new=[], fn=add)
                    self.p.free(r)
                self.store(f"store {out}[{r0}:{r1},{n0 + c0}:{n0 + c1}]", o, out, index)
                self.p.free(o)
            if x_outer:
                self.p.free(*ws)
            else:
                self.p.free(*xs)
            last_of_block = t + 1 == len(steps) or block_of(steps[t + 1]) != block_of(st)
            if last_of_block:
                self.p.free(*held.pop(block_of(st)))

        for t in range(min(depth, len(steps))):
            issue(t)
        for t in range(len(steps)):
            if t + depth < len(steps):
                issue(t + depth)
            compute(t)

    def mask(self, r0: int, r1: int):
        if not self.m.decoder:
            return None
        return causal_mask(range(self.wl.past + r0, self.wl.past + r1), self.wl.keys)

    def scores(self, prm: dict) -> None:
        """GEMM layer S = Q_h K_h^T for every head, stored as int8."""
        hd, n, keys, mult = self.m.head_dim, self.wl.tokens, self.wl.keys, self.layer.mult["s"]
        tm, tn = min(prm["tm"], n), min(prm["tn"], keys)
        for h in range(self.m.heads):
            cols = slice(h * hd, (h + 1) * hd)
            ks = {}
            for r0, r1 in _ranges(n, tm):
                q = self.load(f"load Q h{h}[{r0}:{r1}]", "Q", (slice(r0, r1), cols), (r1 - r0, hd))
                for c0, c1 in _ranges(keys, tn):
                    if c0 not in ks:
                        ks[c0] = self.load(f"load K h{h}[{c0}:{c1}]", "K", (slice(c0, c1), cols), (c1 - c0, hd))
                    k = ks[c0]
                    for group, a, e in self.split(r1 - r0, hd, c1 - c0):
                        s = self.p.new_slot(f"S{h}.{r0}.{c0 + a}")
                        self.pe(f"scores h{h} r{r0} c{c0 + a}", group, r1 - r0, hd, e - a, "any", (q, k), (s,),
                                [(s, (r1 - r0, e - a))],
                                lambda get, q=q, k=k, s=s, a=a, e=e: [(s, None, requant(mm(get(q), get(k)[a:e].T), mult))], 1)
                        self.store(f"store S h{h}[{r0}:{r1},{c0 + a}:{c0 + e}]", s, "S", (h, slice(r0, r1), slice(c0 + a, c0 + e)))
                        self.p.free(s)
                    if not prm["k_resident"]:
                        self.p.free(ks.pop(c0))
                self.p.free(q)
            for k in ks.values():
                self.p.free(k)

    def softmax(self, prm: dict) -> None:
        n, keys = self.wl.tokens, self.wl.keys
        for h in range(self.m.heads):
            for r0, r1 in _ranges(n, min(prm["tr"], n)):
                pr = self.p.new_slot(f"P{h}.{r0}")
                s = self.load(f"load S h{h}[{r0}:{r1}]", "S", (h, slice(r0, r1)), (r1 - r0, keys),
                              extra=[(pr, (r1 - r0, keys))])
                msk = self.mask(r0, r1)
                self.emit(f"softmax h{h} r{r0}", "softmax", self.hw.softmax_cycles(r1 - r0, keys), reads=(s,),
                          writes=(pr,), new=[],
                          fn=lambda get, s=s, pr=pr, msk=msk: [(pr, None, softmax_rows(get(s), msk))],
                          vec_ops=(r1 - r0) * keys * 3, buffer_read=2 * (r1 - r0) * keys, buffer_write=(r1 - r0) * keys)
                self.p.free(s)
                self.store(f"store P h{h}[{r0}:{r1}]", pr, "P", (h, slice(r0, r1)))
                self.p.free(pr)

    def pv(self, prm: dict) -> None:
        """GEMM layer O_h = P_h V_h, accumulated over key tiles, requantized to int8."""
        hd, n, keys, mult = self.m.head_dim, self.wl.tokens, self.wl.keys, self.layer.mult["o"]
        tm, tk = min(prm["tm"], n), min(prm["tk"], keys)
        kt = _ranges(keys, tk)
        for h in range(self.m.heads):
            cols = slice(h * hd, (h + 1) * hd)
            vs = [self.load(f"load V h{h}[{k0}:{k1}]", "V", (slice(k0, k1), cols), (k1 - k0, hd)) for k0, k1 in kt]
            for r0, r1 in _ranges(n, tm):
                m = r1 - r0
                ps = [self.load(f"load P h{h}[{r0}:{r1},{k0}:{k1}]", "P", (h, slice(r0, r1), slice(k0, k1)), (m, k1 - k0))
                      for k0, k1 in kt]
                outs = []
                for group, a, e in self.split(m, tk, hd):
                    o = self.p.new_slot(f"O{h}.{r0}.{a}")
                    acc = self.p.new_slot(f"accO{h}.{r0}.{a}") if len(kt) > 1 else None
                    alloc = [(o, (m, e - a))] + ([(acc, (m, e - a), m * (e - a) * ACC_BYTES)] if acc else [])
                    for j, (k0, k1) in enumerate(kt):
                        last = j == len(kt) - 1
                        reads = (ps[j], vs[j]) + ((acc,) if j else ())

                        def fn(get, j=j, last=last, pt=ps[j], v=vs[j], acc=acc, o=o, a=a, e=e):
                            val = mm(get(pt), get(v)[:, a:e])
                            if j:
                                val = val + get(acc).astype(np.int64)
                            return [(o, None, requant(val, mult))] if last else [(acc, None, val)]
                        self.pe(f"pv h{h} r{r0} c{a} k{k0}", group, m, k1 - k0, e - a, "any", reads,
                                (o,) if last else (acc,), alloc if j == 0 else [], fn, 1 if last else ACC_BYTES)
                    if acc is not None:
                        self.p.free(acc)
                    outs.append((o, a, e))
                for o, a, e in outs:
                    self.store(f"store O h{h}[{r0}:{r1}]", o, "O", (slice(r0, r1), slice(h * hd + a, h * hd + e)))
                    self.p.free(o)
                self.p.free(*ps)
            self.p.free(*vs)

    def chain(self, prm: dict) -> None:
        """TPHS: per head, Q_h, S, P and O_h on chip; tokens spread over the PEs."""
        m_, hd, n, keys, L = self.m, self.m.head_dim, self.wl.tokens, self.wl.keys, self.layer
        br = min(prm["br"], n)
        blocks = _ranges(n, br)
        decode = self.wl.phase == "decode"
        sq, ss, so = ("n", "n", "k") if decode else ("m", "m", "m")
        resident = {}
        if prm["h_resident"]:
            for r0, r1 in blocks:
                resident[r0] = self.load(f"load h[{r0}:{r1}]", "h", (slice(r0, r1),), (r1 - r0, m_.hidden))

        def head_inputs(h):
            cols = slice(h * hd, (h + 1) * hd)
            wq = self.weight("Wq", 0, m_.hidden, h * hd, (h + 1) * hd)
            k = self.load(f"load K h{h}", "K", (slice(0, keys), cols), (keys, hd))
            v = self.load(f"load V h{h}", "V", (slice(0, keys), cols), (keys, hd))
            return wq, k, v

        def block(h, r0, r1, wq, k, v):
            rows = r1 - r0
            x = resident.get(r0) or self.load(f"load h[{r0}:{r1}] h{h}", "h", (slice(r0, r1),), (rows, m_.hidden))
            bq = L.bias["Wq"][h * hd:(h + 1) * hd]
            q, s, pr, o = (self.p.new_slot(f"{t}{h}.{r0}") for t in ("Q", "S", "P", "O"))
            msk = self.mask(r0, r1)
            self.pe(f"chain Q h{h} r{r0}", "pmac", rows, m_.hidden, hd, sq, (x, wq), (q,),
                    [(q, (rows, hd)), (s, (rows, keys)), (pr, (rows, keys)), (o, (rows, hd))],
                    lambda get: [(q, None, requant(mm(get(x), get(wq)) + bq, L.mult["q"]))], 1)
            if r0 not in resident:
                self.p.free(x)
            self.pe(f"chain S h{h} r{r0}", "pmac", rows, hd, keys, ss, (q, k), (s,), [],
                    lambda get: [(s, None, requant(mm(get(q), get(k).T), L.mult["s"]))], 1)
            self.p.free(q)
            self.emit(f"chain softmax h{h} r{r0}", "softmax", self.hw.softmax_cycles(rows, keys), reads=(s,),
                      writes=(pr,), new=[], fn=lambda get: [(pr, None, softmax_rows(get(s), msk))],
                      vec_ops=rows * keys * 3, buffer_read=2 * rows * keys, buffer_write=rows * keys)
            self.p.free(s)
            self.pe(f"chain PV h{h} r{r0}", "bmac", rows, keys, hd, so, (pr, v), (o,), [],
                    lambda get: [(o, None, requant(mm(get(pr), get(v)), L.mult["o"]))], 1)
            self.p.free(pr)
            self.store(f"store O h{h}[{r0}:{r1}]", o, "O", (slice(r0, r1), slice(h * hd, (h + 1) * hd)))
            self.p.free(o)

        if prm["order"] == "head":
            for h in range(m_.heads):
                wq, k, v = head_inputs(h)
                for r0, r1 in blocks:
                    block(h, r0, r1, wq, k, v)
                self.p.free(wq, k, v)
        else:                                   # block: row blocks outer, every head per block
            for r0, r1 in blocks:
                for h in range(m_.heads):
                    wq, k, v = head_inputs(h)
                    block(h, r0, r1, wq, k, v)
                    self.p.free(wq, k, v)
        for slot in resident.values():
            self.p.free(slot)


def dram_tensors(wl: Workload) -> dict:
    """DRAM activations a layer program touches: name -> shape (int8 each)."""
    m, n, keys = wl.model, wl.tokens, wl.keys
    return {"x": (n, m.hidden), "h": (n, m.hidden), "Q": (n, m.hidden), "K": (keys, m.hidden), "V": (keys, m.hidden),
            "S": (m.heads, n, keys), "P": (m.heads, n, keys), "O": (n, m.hidden), "x1": (n, m.hidden),
            "h2": (n, m.hidden), "F": (n, m.ffn), "out": (n, m.hidden)}


def build(hw: Hardware, wl: Workload, layer, dataflow: str, tilings: dict, packed: dict | None = None,
          weak: bool = False, only=None) -> Program:
    """The tile program of one layer under `dataflow`, with each of its layers' tiling in `tilings`
    (layer name -> parameters); `only` restricts it to some of its layers (the per-layer search)."""
    if dataflow not in DATAFLOWS:
        raise ModelError(f"unknown dataflow '{dataflow}'; choose from: {', '.join(DATAFLOWS)}")
    b = Builder(hw, wl, layer, packed, weak)
    L, past = layer, wl.past
    act = wl.model.act
    for name in LAYERS[dataflow]:
        if only is not None and name not in only:
            continue
        prm = tilings[name]
        if name == "ln1":
            b.layernorm("ln1", "x", "h", *L.ln1, prm)
        elif name == "ln2":
            b.layernorm("ln2", "x1", "h2", *L.ln2, prm)
        elif name in ("qkv", "kv"):
            mats = [("Wk", "K", past, L.bias["Wk"], L.mult["k"], "none", None),
                    ("Wv", "V", past, L.bias["Wv"], L.mult["v"], "none", None)]
            if name == "qkv":
                mats.insert(0, ("Wq", "Q", 0, L.bias["Wq"], L.mult["q"], "none", None))
            b.gemm(name, "h", mats, prm)
        elif name == "scores":
            b.scores(prm)
        elif name == "softmax":
            b.softmax(prm)
        elif name == "pv":
            b.pv(prm)
        elif name == "chain":
            b.chain(prm)
        elif name == "out":
            b.gemm("out", "O", [("Wo", "x1", 0, L.bias["Wo"], L.mult["a"], "none", "x")], prm)
        elif name == "fc1":
            b.gemm("fc1", "h2", [("W1", "F", 0, L.bias["W1"], L.mult["f1"], act, None)], prm)
        elif name == "fc2":
            b.gemm("fc2", "F", [("W2", "out", 0, L.bias["W2"], L.mult["f2"], "none", "x1")], prm)
    return b.p

"""What no attention schedule can beat on a hardware description: lower bounds on latency and energy, so a
measured speedup can be read against the most any tiling, overlap or overwrite policy could gain.

- MAC: the multiply-accumulates of Q K^T and P V on the weight-stationary array, counting its fill and drain:
  every fold costs 2R + C + m - 2 cycles for m streamed rows (`Hardware.ws_cycles`), and a fold holds at most
  r x c <= R x C stationary weights and streams at most as many rows as the GEMM has in the streamed operand
  and as its local buffer takes (`Hardware.max_streamed_rows`). So each MAC costs at least
  min over the fold shapes of (2R + C - 2 + m) / (m r c) cycles, in whichever mapping is cheaper (Q K^T: Q
  or K streamed; P V: P or V^T streamed, i.e. at most head_dim rows). The ideal-array figure (every MAC busy
  every cycle) is reported beside it (`mac_ideal`).
- VEC: per score at least a max, a subtraction and an exp (the 1/sqrt(d) scale can be folded into Q, the row
  sums computed by the MAC unit and the normalisation applied to the output rows), on every lane.
- DRAM: Q, K and V read once, O written once.
- Energy: those MACs, vector operations and DRAM bytes, each DRAM byte also written to (or read from) the
  on-chip buffer once, and per score a sum at the cheaper of a vector operation and a MAC.
The latency bound is the largest of the three unit bounds: each unit must at least do its own work."""
from __future__ import annotations

import math

from accelerator_models.common.hardware import Hardware
from accelerator_models.mas_attention.workloads import Attention


def gemm_bound(hw: Hardware, m: int, k: int, n: int) -> int:
    """Fewest array cycles any tiling of (m x k) @ (k x n) can take (fill and drain counted per fold)."""
    R, C = hw.mac.rows, hw.mac.cols
    overhead = 2 * R + C - 2
    best = math.inf
    for streamed, other in ((m, n), (n, m)):          # the k x other operand stationary, `streamed` rows through
        for r in range(1, min(R, k) + 1):
            for c in range(1, min(C, other) + 1):
                rows = min(streamed, hw.max_streamed_rows(r, c))
                if rows >= 1:
                    best = min(best, (overhead + rows) / (rows * r * c))
    return math.ceil(m * k * n * best)


def bounds(wl: Attention, hw: Hardware) -> dict:
    scores = wl.heads * wl.seq_q * wl.seq_kv
    macs = 2 * scores * wl.head_dim
    c = hw.vec.cycles
    wb = hw.word_bytes
    read = wl.heads * (wl.seq_q + 2 * wl.seq_kv) * wl.head_dim * wb
    write = wl.heads * wl.seq_q * wl.head_dim * wb
    d = wl.head_dim
    units = {"mac": wl.heads * (gemm_bound(hw, wl.seq_q, d, wl.seq_kv) + gemm_bound(hw, wl.seq_q, wl.seq_kv, d)),
             "vec": math.ceil(scores / hw.vec.lanes) * (c["max"] + c["add"] + c["exp"]),
             "dram": math.ceil((read + write) / hw.dram.bytes_per_cycle)}
    bound_by = max(units, key=units.get)
    e = hw.energy
    vec_ops = scores * (2 + c["exp"])        # energy counts an exp as that many vector operations
    energy = (macs * e.mac + vec_ops * e.vec_op + scores * min(e.vec_op, e.mac)
              + read * (e.dram_read_per_byte + e.buffer_write_per_byte)
              + write * (e.dram_write_per_byte + e.buffer_read_per_byte))
    return {"latency_cycles": units[bound_by], "bound_by": bound_by, "unit_cycles": units,
            "mac_ideal": math.ceil(macs / (hw.mac.rows * hw.mac.cols)), "energy_pj": energy,
            "dram_bytes": read + write}

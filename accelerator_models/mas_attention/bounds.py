"""What no attention schedule can beat on a hardware description: lower bounds on latency and energy, so a
measured speedup can be read against the most any tiling, overlap or overwrite policy could gain.

- MAC: the 2 x heads x seq_q x seq_kv x d multiply-accumulates of Q K^T and P V on every MAC of the array.
- VEC: per score at least a max, a subtraction, an exp and a sum (the 1/sqrt(d) scale can be folded into Q and
  the normalisation into the output rows), on every lane.
- DRAM: Q, K and V read once, O written once.
- Energy: those MACs, vector operations and DRAM bytes, each DRAM byte also written to (or read from) the
  on-chip buffer once.
The latency bound is the largest of the three unit bounds: each unit must at least do its own work."""
from __future__ import annotations

import math

from accelerator_models.common.hardware import Hardware
from accelerator_models.mas_attention.workloads import Attention


def bounds(wl: Attention, hw: Hardware) -> dict:
    scores = wl.heads * wl.seq_q * wl.seq_kv
    macs = 2 * scores * wl.head_dim
    c = hw.vec.cycles
    wb = hw.word_bytes
    read = wl.heads * (wl.seq_q + 2 * wl.seq_kv) * wl.head_dim * wb
    write = wl.heads * wl.seq_q * wl.head_dim * wb
    units = {"mac": math.ceil(macs / (hw.mac.rows * hw.mac.cols)),
             "vec": math.ceil(scores / hw.vec.lanes) * (c["max"] + 2 * c["add"] + c["exp"]),
             "dram": math.ceil((read + write) / hw.dram.bytes_per_cycle)}
    bound_by = max(units, key=units.get)
    e = hw.energy
    vec_ops = scores * (3 + c["exp"])        # energy counts an exp as that many vector operations
    energy = (macs * e.mac + vec_ops * e.vec_op + read * (e.dram_read_per_byte + e.buffer_write_per_byte)
              + write * (e.dram_write_per_byte + e.buffer_read_per_byte))
    return {"latency_cycles": units[bound_by], "bound_by": bound_by,
            "unit_cycles": units, "energy_pj": energy, "dram_bytes": read + write}

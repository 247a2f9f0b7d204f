"""Cross-check of the engine's matrix unit against SCALE-Sim (PyPI `scalesim` 3.0), a systolic-array simulator
nobody here wrote: the same array (rows x cols, weight stationary) and the same GEMM shapes, SCALE-Sim's
compute cycles against the cycles the engine gives the GEMM operation. SCALE-Sim needs numpy < 2, so it runs
in its own venv (`make setup` creates `.venv-scalesim`; `EDGE_SCALESIM_PYTHON` names another interpreter)."""
from __future__ import annotations

import csv
import os
import subprocess
import tempfile
from pathlib import Path

from accelerator_models.common.engine import simulate
from accelerator_models.common.errors import ModelError
from accelerator_models.common.hardware import Hardware
from accelerator_models.common.program import Program

ROOT = Path(__file__).resolve().parents[2]

_CONFIG = """[general]
run_name = crosscheck

[architecture_presets]
ArrayHeight: {rows}
ArrayWidth: {cols}
IfmapSramSzkB: {kb}
FilterSramSzkB: {kb}
OfmapSramSzkB: {kb}
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Dataflow: ws
Bandwidth: {words}
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport: false
SparseRep: ellpack_block
OptimizedMapping: false
BlockSize: 8
RandomNumberGeneratorSeed: 40

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""

_RUN = """import sys
from scalesim.scale_sim import scalesim
s = scalesim(save_disk_space=True, verbose=False, config=sys.argv[1], topology=sys.argv[2], layout=sys.argv[3],
             input_type_gemm=True)
s.run_scale(top_path=sys.argv[4])
"""


def scalesim_python() -> str:
    py = os.environ.get("EDGE_SCALESIM_PYTHON") or str(ROOT / ".venv-scalesim" / "bin" / "python")
    if not Path(py).exists():
        raise ModelError(f"SCALE-Sim's interpreter '{py}' is missing: run `make setup` (it creates .venv-scalesim "
                         "with scalesim and numpy<2) or set EDGE_SCALESIM_PYTHON")
    return py


def scalesim_cycles(hw: Hardware, shapes: list) -> list:
    """SCALE-Sim compute cycles of GEMMs (m, k, n) = (m x k) @ (k x n) on hw's array."""
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        (t / "scale.cfg").write_text(_CONFIG.format(rows=hw.mac.rows, cols=hw.mac.cols,
                                                    kb=hw.buffer.capacity_bytes // 1024 // 3,
                                                    words=max(1, int(hw.dram.bytes_per_cycle // hw.word_bytes))))
        names = [f"g{i}" for i in range(len(shapes))]
        (t / "topo.csv").write_text("Layer, M, N, K,\n" + "".join(f"{nm}, {m}, {n}, {k},\n" for nm, (m, k, n)
                                                                   in zip(names, shapes)))
        (t / "layout.csv").write_text("Layer name," + ",".join(f"f{i}" for i in range(20)) + ",\n" +
                                      "".join(f"{nm}," + ",".join(["1"] * 20) + ",\n" for nm in names))
        (t / "run.py").write_text(_RUN)
        r = subprocess.run([scalesim_python(), str(t / "run.py"), str(t / "scale.cfg"), str(t / "topo.csv"),
                            str(t / "layout.csv"), str(t / "out")], capture_output=True, text=True, cwd=tmp)
        report = t / "out" / "crosscheck" / "COMPUTE_REPORT.csv"
        if r.returncode or not report.exists():
            raise ModelError(f"SCALE-Sim failed (exit {r.returncode}): {r.stderr.strip()[-800:]}")
        with open(report) as f:
            rows = list(csv.reader(f))[1:]
        return [int(row[2]) for row in rows]


def engine_cycles(hw: Hardware, shapes: list) -> list:
    """Cycles the engine's MAC unit spends on each GEMM (operands loaded first, result stored after)."""
    out = []
    for m, k, n in shapes:
        p = Program(hw)
        for slot, shape in (("A", (m, k)), ("B", (k, n))):
            p.emit(f"load {slot}", "load", hw.dma_cycles(p.slot_bytes(shape)), writes=(slot,), new=[(slot, shape)])
        g = p.gemm("gemm", m, k, n, reads=("A", "B"), writes=("C",), new=[("C", (m, n))], fn=None)
        tl = simulate(p.ops, hw)
        out.append(tl.end[g] - tl.start[g])
    return out


def compare(hw: Hardware, shapes: list) -> list:
    """The engine's cycles for each GEMM against SCALE-Sim's for the same mapping: the engine holds whichever
    operand is faster stationary, so SCALE-Sim runs both (m, k, n) and the transposed (n, k, m)."""
    sim = scalesim_cycles(hw, shapes + [(n, k, m) for m, k, n in shapes])
    return [{"m": m, "k": k, "n": n, "engine_cycles": e, "scalesim_cycles": s, "ratio": e / s}
            for (m, k, n), e, s in zip(shapes, engine_cycles(hw, shapes),
                                       (min(a, b) for a, b in zip(sim, sim[len(shapes):])))]

"""`make sim` / `edge-sdk demo`: build the int8 matmul demo, run it on Spike and on the RTL, and report."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

from edge_sdk import sim
from edge_sdk.build import BUILD
from edge_sdk.toolchain import FIRMWARE, compile_elf

DEMO_SOURCES = (FIRMWARE / "apps" / "matmul_bench.c", FIRMWARE / "kernels" / "matmul_i8.c")
_KERNEL_RE = re.compile(r"kernel: (\d+) MACs, (\d+) instructions, (\d+) cycles")


def kernel_figures(console: str) -> dict[str, int]:
    """MACs, instructions and cycles of the timed kernel, as the demo program prints them."""
    m = _KERNEL_RE.search(console)
    if not m:
        raise ValueError("the demo program did not print its kernel figures")
    return {"macs": int(m.group(1)), "instructions": int(m.group(2)), "cycles": int(m.group(3))}


def run_demo(out: Callable[[str], None] = print, build_dir: Path | None = None) -> dict:
    build_dir = build_dir or BUILD / "demo"
    report: dict = {}
    elfs = {isa: compile_elf(DEMO_SOURCES, build_dir / f"matmul_{isa}.elf", isa=isa) for isa in ("xedge", "base")}
    out(f"demo: 64x64x64 int8 matmul, firmware {elfs['xedge']}")
    for backend in ("spike", "rtl"):
        r = sim.run(elfs["xedge"], backend)
        out(f"\n== {backend} ==")
        out(r.console.rstrip())
        if backend == "spike":
            speed = f"{r.instret / r.sim_seconds / 1e6:.1f} M instructions/s"
        else:
            speed = f"{r.total_cycles / r.sim_seconds / 1e6:.2f} M cycles/s"
        cycles = "n/a (functional)" if r.cycles is None else f"{r.cycles}"
        out(f"exit code {r.exit_code} | instret {r.instret} | cycles {cycles} | {r.sim_seconds:.3f} s wall, {speed}")
        report[backend] = r.to_json()
    base = sim.run(elfs["base"], "rtl")
    fast, slow = kernel_figures(report["rtl"]["console"]), kernel_figures(base.console)
    out(f"\nkernel on the RTL: {fast['macs'] / fast['cycles']:.2f} MAC/cycle with xedge (SIMD dot product, "
        f"post-increment loads, bdnz) vs {slow['macs'] / slow['cycles']:.3f} MAC/cycle plain RV32IMC: "
        f"{slow['cycles'] / fast['cycles']:.1f}x faster")
    report["kernel"] = {"xedge": fast, "base": slow}
    return report

"""Dense int8 matmul on the RTL: MAC/cycle of the xedge kernel (SIMD dot product, post-increment loads, bdnz)
and of the same C reference built for plain RV32IMC, on several shapes. Cycles are the kernel's own, read
from mcycle around the call on the cycle-accurate core."""
from __future__ import annotations

import tempfile
from pathlib import Path

from common import write_result

from edge_sdk import sim
from edge_sdk.demo import DEMO_SOURCES, kernel_figures
from edge_sdk.toolchain import compile_elf

SHAPES = [(64, 64, 64), (32, 32, 128), (128, 64, 32), (16, 16, 16)]


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for m, n, k in SHAPES:
            row = {"shape": [m, n, k]}
            for isa in ("xedge", "base"):
                elf = compile_elf(DEMO_SOURCES, Path(tmp) / f"mm_{m}_{n}_{k}_{isa}.elf", isa=isa,
                                  defines={"MM_M": m, "MM_N": n, "MM_K": k})
                r = sim.run(elf, "rtl")
                assert r.exit_code == 0 and "0 mismatches" in r.console, r.console
                fig = kernel_figures(r.console)
                row[isa] = {**fig, "mac_per_cycle": fig["macs"] / fig["cycles"],
                            "counters": r.counters}
            row["speedup"] = row["base"]["cycles"] / row["xedge"]["cycles"]
            rows.append(row)
            print(f"{m}x{n}x{k}: xedge {row['xedge']['mac_per_cycle']:.2f} MAC/cycle, "
                  f"base {row['base']['mac_per_cycle']:.3f}, speedup {row['speedup']:.1f}x")
    write_result("matmul", {"target_mac_per_cycle_64cubed": 1.5, "single_issue_limit": 4, "rows": rows})


if __name__ == "__main__":
    main()

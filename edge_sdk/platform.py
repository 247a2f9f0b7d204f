"""The simulated MCU platform: memory configurations shared by the linker script, Spike and the RTL.

Code lives in IMEM, everything the core loads or stores in DMEM (a Harvard MCU); `tohost`/`fromhost` sit in
DMEM at the addresses of the ELF's symbols, so one ELF runs unchanged on Spike and on the RTL.
"""
from __future__ import annotations

from dataclasses import dataclass

from edge_sdk.errors import EdgeSdkError

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True)
class MemoryMap:
    name: str
    imem_bytes: int
    dmem_bytes: int
    imem_base: int = 0x8000_0000
    dmem_base: int = 0x9000_0000

    def linker_memory(self) -> str:
        return (f"/* memory configuration '{self.name}' (edge_sdk/platform.py) */\n"
                "MEMORY\n{\n"
                f"  IMEM (rx) : ORIGIN = {self.imem_base:#x}, LENGTH = {self.imem_bytes:#x}\n"
                f"  DMEM (rw) : ORIGIN = {self.dmem_base:#x}, LENGTH = {self.dmem_bytes:#x}\n"
                "}\n")

    def spike_memory_arg(self) -> str:
        return f"-m{self.imem_base:#x}:{self.imem_bytes:#x},{self.dmem_base:#x}:{self.dmem_bytes:#x}"

    def rtl_parameters(self) -> dict[str, int]:
        return {"ImemBase": self.imem_base, "ImemBytes": self.imem_bytes,
                "DmemBase": self.dmem_base, "DmemBytes": self.dmem_bytes}


MEMORY_MAPS = {
    # Big enough for the networks of the SDK (a dense int8 ResNet-18 has 11 MB of weights).
    "default": MemoryMap("default", imem_bytes=512 * KIB, dmem_bytes=16 * MIB),
    # A small MCU: what a microcontroller-class part would carry on chip.
    "mcu": MemoryMap("mcu", imem_bytes=64 * KIB, dmem_bytes=256 * KIB),
}

# --isa values -> the custom extensions (riscv_ext/spec.py) the core implements and the code may use.
ISAS = {
    "xedge": ("xedge",),
    "xdec": ("xedge", "xdec"),   # xedge + the decimating load of the N:M sparse kernels
    "base": (),                  # plain RV32IMC
}
# The toolchain marks an ELF with one absolute symbol per extension it was built for (`__edge_ext_xdec`);
# the simulators read them to run it on a core that has those extensions.
EXT_SYMBOL_PREFIX = "__edge_ext_"


def memory_map(name: str) -> MemoryMap:
    try:
        return MEMORY_MAPS[name]
    except KeyError:
        raise EdgeSdkError(f"unknown memory configuration '{name}'; choose one of: "
                           + ", ".join(MEMORY_MAPS)) from None
